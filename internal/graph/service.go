package graph

import (
	"context"

	"github.com/authmesh/authmesh/internal/auth"
)

// Service is what the resolvers need from the auth use cases; *auth.Service
// implements it. Errors are *auth.Error values carrying a code; any other
// error is shown to clients as INTERNAL. Implementations must be safe for
// concurrent use: query fields resolve in parallel.
type Service interface {
	Register(ctx context.Context, email, password string, client auth.ClientInfo) (auth.User, error)
	Login(ctx context.Context, email, password string, client auth.ClientInfo) (auth.LoginResult, error)
	// Authenticate returns an *auth.Error with CodeUnauthenticated when the
	// token is missing, invalid or revoked.
	Authenticate(ctx context.Context, bearerToken string) (auth.Caller, error)
	Logout(ctx context.Context, c auth.Caller) error
	LogoutAll(ctx context.Context, c auth.Caller) error
	Refresh(ctx context.Context, refreshToken string, client auth.ClientInfo) (auth.TokenPair, error)
	ChangePassword(ctx context.Context, c auth.Caller, oldPassword, newPassword string) error
	RevokeSession(ctx context.Context, c auth.Caller, sessionID string) error
	Me(ctx context.Context, c auth.Caller) (auth.User, error)
	Sessions(ctx context.Context, c auth.Caller) ([]auth.Session, error)
	RequestEmailVerification(ctx context.Context, c auth.Caller) error
	VerifyEmail(ctx context.Context, token string) error
	RequestPasswordReset(ctx context.Context, email string, client auth.ClientInfo) error
	ResetPassword(ctx context.Context, token, newPassword string) error
	ChangeEmail(ctx context.Context, c auth.Caller, newEmail, password string) error
}
