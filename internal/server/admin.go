package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/authmesh/authmesh/internal/admin"
	"github.com/authmesh/authmesh/internal/token/keyring"
)

// newAdmin builds the admin API's handler (nil when ADMIN_ADDR=off).
func (s *Server) newAdmin() (http.Handler, error) {
	if s.cfg.AdminAddr == "off" {
		return nil, nil
	}
	cfg := admin.Config{Token: s.cfg.AdminToken, Clients: s.clients, Logger: s.log}
	if s.ring != nil {
		cfg.Keys = ringKeys{s.ring}
	}
	h, err := admin.NewHandler(s.svc, cfg)
	if err != nil {
		return nil, fmt.Errorf("ADMIN_TOKEN: %w", err)
	}
	return h, nil
}

// ringKeys adapts the key ring to the admin API.
type ringKeys struct{ ring *keyring.Ring }

var _ admin.Keys = ringKeys{}

func (k ringKeys) List(ctx context.Context) ([]admin.Key, error) {
	recs, err := k.ring.List(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]admin.Key, 0, len(recs))
	for _, r := range recs {
		out = append(out, admin.Key{
			KeyID: r.KeyID, Algorithm: r.Algorithm, CreatedAt: r.CreatedAt, SignFrom: r.SignFrom,
			SignUntil: r.SignUntil, PublishUntil: r.PublishUntil, Signing: r.Signs(now),
		})
	}
	return out, nil
}

func (k ringKeys) Rotate(ctx context.Context) (string, error) { return k.ring.Rotate(ctx) }

// adminServer listens on ADMIN_ADDR; the returned function serves until
// the listener is shut down. Nil, nil when ADMIN_ADDR=off.
func (s *Server) adminServer() (*http.Server, net.Listener, error) {
	if s.admin == nil {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.AdminAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("ADMIN_ADDR=%s: %w", s.cfg.AdminAddr, err)
	}
	srv := &http.Server{
		Handler: s.admin, MaxHeaderBytes: 64 << 10,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return srv, ln, nil
}

// serveAdmin serves srv on ln until it is shut down, over TLS with
// ADMIN_TLS_CERT_FILE.
func (s *Server) serveAdmin(srv *http.Server, ln net.Listener) error {
	var err error
	if s.adminCerts != nil {
		srv.TLSConfig = s.adminCerts.TLSConfig()
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// auditPruner deletes security events older than AUDIT_RETENTION, at start
// and then every hour.
type auditPruner struct {
	db interface {
		PruneEvents(ctx context.Context, before time.Time) (int64, error)
	}
	retention time.Duration
	log       *slog.Logger
}

// Run prunes until ctx is done, then returns ctx's error.
func (p *auditPruner) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if p.retention > 0 {
			n, err := p.db.PruneEvents(ctx, time.Now().Add(-p.retention))
			switch {
			case err != nil && ctx.Err() == nil:
				p.log.Error("audit: prune old events", "err", err)
			case n > 0:
				p.log.Info("audit: pruned old events", "deleted", n, "retention", p.retention)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
