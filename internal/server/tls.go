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

// validateTLS requires both TLS files or neither, for the public and for
// the admin listener.
func (c Config) validateTLS() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("TLS_CERT_FILE and TLS_KEY_FILE go together: set both to serve HTTPS, or neither for plain HTTP")
	}
	if (c.AdminTLSCertFile == "") != (c.AdminTLSKeyFile == "") {
		return errors.New("ADMIN_TLS_CERT_FILE and ADMIN_TLS_KEY_FILE go together: set both to serve the admin API over HTTPS, or neither for plain HTTP")
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

// openAdminTLS loads the admin listener's certificate when it serves HTTPS
// (ADMIN_TLS_CERT_FILE), reloaded on change like the public one's.
func (s *Server) openAdminTLS() error {
	if s.cfg.AdminTLSCertFile == "" || s.cfg.AdminAddr == "off" {
		return nil
	}
	certs, err := certreload.New(s.cfg.AdminTLSCertFile, s.cfg.AdminTLSKeyFile, s.log)
	if err != nil {
		return fmt.Errorf("ADMIN_TLS_CERT_FILE/ADMIN_TLS_KEY_FILE: %w", err)
	}
	s.adminCerts = certs
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
