// Package certreload serves a TLS certificate from a certificate and a key
// file and picks up a new pair without a restart: each handshake checks the
// files' modification time and size (one stat each), and reloads the pair
// when either changed. A pair that does not load (a key that does not match
// its certificate while a rotation is half written) is logged, and the
// previous certificate keeps serving until the files change again.
package certreload

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// stamp identifies a version of the two files.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// Reloader holds the current certificate of a certificate/key file pair.
// It is safe for concurrent use.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  stamp // the files' stamp when cert was loaded
	failed  stamp // the last stamp that did not load, not retried
	statErr bool  // the files could not be read last time (logged once)
}

// New loads the pair certFile/keyFile (PEM), failing when it does not
// load. A nil log means slog.Default().
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("certreload: a certificate file and a key file are both required")
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certreload: %w", err)
	}
	r.cert, r.loaded = &cert, st
	return r, nil
}

func (r *Reloader) stat() (stamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("certreload: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("certreload: %w", err)
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// Certificate returns the current certificate, reloading the files first
// when they changed since they were last read.
func (r *Reloader) Certificate() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stat()
	if err != nil {
		if !r.statErr {
			r.log.Warn("certreload: cannot read the certificate files; serving the previous certificate", "cert", r.certFile, "key", r.keyFile, "err", err)
			r.statErr = true
		}
		return r.cert
	}
	r.statErr = false
	if st == r.loaded || st == r.failed {
		return r.cert
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("certreload: the new certificate files do not load; serving the previous certificate until they change again", "cert", r.certFile, "key", r.keyFile, "err", err)
		r.failed = st
		return r.cert
	}
	r.cert, r.loaded, r.failed = &cert, st, stamp{}
	r.log.Info("certreload: certificate reloaded", "cert", r.certFile)
	return r.cert
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// whatever the client asked for.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// TLSConfig returns a server configuration serving r's certificate, TLS 1.2
// at least.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12}
}
