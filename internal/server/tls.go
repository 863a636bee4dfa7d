package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/authmesh/authmesh/internal/certreload"
)

// tlsEnabled reports whether the service serves HTTPS (TLS_CERT_FILE and
// TLS_KEY_FILE set).
func (c Config) tlsEnabled() bool { return c.TLSCertFile != "" }

// validateTLS requires both TLS files or neither.
func (c Config) validateTLS() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("TLS_CERT_FILE and TLS_KEY_FILE go together: set both to serve HTTPS, or neither for plain HTTP")
	}
	return nil
}

// openTLS loads the certificate when the service serves HTTPS. The files
// are checked again at every handshake and reloaded when they change, so
// a renewed certificate (cert-manager, a rotated Secret) is served without
// a restart.
func (s *Server) openTLS() error {
	if !s.cfg.tlsEnabled() {
		return nil
	}
	certs, err := certreload.New(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.log)
	if err != nil {
		return fmt.Errorf("TLS_CERT_FILE/TLS_KEY_FILE: %w", err)
	}
	s.certs = certs
	return nil
}

// serve serves srv on ln, over TLS when configured.
func (s *Server) serve(srv *http.Server, ln net.Listener) error {
	if s.certs == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = s.certs.TLSConfig()
	return srv.ServeTLS(ln, "", "")
}
