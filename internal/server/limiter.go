package server

import "github.com/authmesh/authmesh/internal/auth"

// newLimiter builds the login and registration limits.
func (s *Server) newLimiter() (auth.Limiter, error) { return nil, nil }
