package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/certreload"
	"github.com/authmesh/authmesh/internal/clientip"
	"github.com/authmesh/authmesh/internal/device"
	"github.com/authmesh/authmesh/internal/mail"
	"github.com/authmesh/authmesh/internal/password"
	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/telemetry"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/keyring"
)

// keyReloadInterval is how often every replica re-reads the signing keys:
// a key withdrawn by `keys withdraw` stops signing everywhere within it. A
// read is one small query.
const keyReloadInterval = 5 * time.Second

// keySource is what the service needs of its keys: signing, verification
// and publication.
type keySource interface {
	token.Signer
	token.VerificationKeys
	keyring.JWKSSource
}

// revocations is the service's revocation store: it records revocations,
// many at once too (a logout's token and session in one journal
// transaction), and is the source the feed serves.
type revocations interface {
	revoke.BulkRevoker
	revoke.Source
	Run(ctx context.Context) error
}

// SchedulerHeadroom readies the process for serving: it fixes the password
// hashing slots at their default, one per core (unless ARGON2_CONCURRENCY
// set them), then raises GOMAXPROCS by one. An argon2id computation holds
// a P (one of GOMAXPROCS) for its whole 20-odd milliseconds and the Go
// scheduler preempts it only after 10 ms: with every P hashing (logins
// queued), each request goroutine woken by a database or Redis reply waited
// up to 10 ms for a P, several times per request (a logout on PostgreSQL
// took 50 ms instead of 1). With one P more than the hashing slots a woken
// goroutine runs at once and the kernel shares the cores. It sets the
// process's GOMAXPROCS (to the runtime's default plus one, so calling it
// again changes nothing): call it from main, before New. When the operator
// set GOMAXPROCS (operatorSet), it leaves it, and the hashing slots, alone.
func SchedulerHeadroom(c *Config, operatorSet bool) {
	if operatorSet {
		return
	}
	runtime.SetDefaultGOMAXPROCS()
	if c.Argon2Concurrency == 0 {
		c.Argon2Concurrency = password.DefaultConcurrency(password.DefaultParams())
	}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
}

// Server is a fully wired auth service. Close releases what New opened.
type Server struct {
	cfg        Config
	log        *slog.Logger
	db         *store.DB
	rdb        redis.UniversalClient // nil in embedded mode
	keys       keySource
	ring       *keyring.Ring // nil in JWT_SECRET mode
	revs       revocations
	svc        *auth.Service
	clients    *auth.Clients // service clients and the token endpoint
	registry   *prometheus.Registry
	outbox     *mail.Outbox // delivers the mail outbox
	requests   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	handler    http.Handler
	admin      http.Handler         // the admin API (ADMIN_ADDR); nil when off
	deps       *dependencyMonitor   // /readyz and authmesh_dependency_up
	certs      *certreload.Reloader // nil without TLS_CERT_FILE
	adminCerts *certreload.Reloader // nil without ADMIN_TLS_CERT_FILE
	tracing    *telemetry.Tracing   // OTEL_*; no-op when off

	streams    context.Context // cancelled when shutdown begins; ends feed streams
	endStreams context.CancelFunc
}

// New opens storage and connections and wires the service. It fails fast,
// with an error naming the variable to fix, when a dependency is unreachable.
// A nil log means slog.Default().
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if err := s.openTLS(); err != nil {
		return nil, err
	}
	if err := s.openAdminTLS(); err != nil {
		return nil, err
	}
	var err error
	if s.tracing, err = telemetry.New(ctx, telemetry.Config{Enabled: cfg.tracingEnabled()}); err != nil {
		return nil, err
	}
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if s.db, err = store.Open(openCtx, cfg.DatabaseURL, store.Options{Logger: log, Tracer: s.tracing.Tracer()}); err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := s.openRevocations(openCtx); err != nil {
		return nil, err
	}
	if err := s.openKeys(openCtx); err != nil {
		return nil, err
	}
	if s.svc, err = s.newService(); err != nil {
		return nil, err
	}
	if err := s.openMail(); err != nil {
		return nil, err
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.newHTTPMetrics()
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	if s.admin, err = s.newAdmin(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// openRevocations connects Redis when configured, else uses the database's
// revocation journal.
func (s *Server) openRevocations(ctx context.Context) error {
	if len(s.cfg.RedisAddr) == 0 {
		js, err := sqljournal.New(s.db, sqljournal.Config{
			Issuer: s.cfg.Issuer, Audience: s.cfg.Audience, Logger: s.log,
		})
		if err != nil {
			return fmt.Errorf("revocation journal: %w", err)
		}
		s.revs = js
		return nil
	}
	s.rdb = newRedisClient(s.cfg)
	if h := s.tracing.RedisHook(); h != nil {
		s.rdb.AddHook(h)
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("REDIS_ADDR=%v: Redis unreachable: %w", s.cfg.RedisAddr, err)
	}
	// The database is the record of every revocation: Redis is re-seeded
	// from it whenever it loses its data.
	rs, err := redisstore.New(s.rdb, redisstore.Config{
		Prefix: s.cfg.RedisPrefix, MinReplicas: s.cfg.RedisMinReplicas, Journal: s.db,
		// WAIT must give up before the call does.
		ReplicaTimeout: min(time.Second, s.cfg.redisTimeout()/2),
		Issuer:         s.cfg.Issuer, Audience: s.cfg.Audience, Logger: s.log,
	})
	if err != nil {
		return fmt.Errorf("revocation store: %w", err)
	}
	if err := rs.EnsureLayout(ctx); err != nil {
		return fmt.Errorf("REDIS_ADDR=%v: revocation layout: %w", s.cfg.RedisAddr, err)
	}
	s.revs = rs
	return nil
}

// openKeys uses the shared secret when configured, else the database's
// asymmetric key ring (generated at first start).
func (s *Server) openKeys(ctx context.Context) error {
	if s.cfg.JWTSecret != "" {
		k, err := token.NewHMACKeys([]byte(s.cfg.JWTSecret))
		if err != nil {
			return fmt.Errorf("JWT_SECRET: %w", err)
		}
		s.keys = k
		return nil
	}
	ring, err := keyring.New(ctx, s.db, keyring.Config{
		Algorithm: s.cfg.SigningAlg, AccessTokenTTL: s.cfg.AccessTokenTTL, RefreshTokenTTL: s.cfg.RefreshTokenTTL,
		KeyEncryptionSecret: []byte(s.cfg.KeyEncryptionSecret), Logger: s.log,
		MaintainEvery: keyReloadInterval,
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	s.keys, s.ring = ring, ring
	return nil
}

func (s *Server) newService() (*auth.Service, error) {
	var aud []string
	if s.cfg.Audience != "" {
		aud = []string{s.cfg.Audience}
	}
	issuer, err := token.NewIssuer(s.keys, token.IssuerConfig{
		Issuer: s.cfg.Issuer, Audience: aud, AccessTokenTTL: s.cfg.AccessTokenTTL, RefreshTokenTTL: s.cfg.RefreshTokenTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	verifier, err := token.NewVerifier(s.keys, token.VerifierConfig{
		Issuer: s.cfg.Issuer, Audience: s.cfg.Audience,
		MaxTokenLifetime: cmp.Or(s.cfg.MaxTokenLifetime, max(s.cfg.AccessTokenTTL, s.cfg.RefreshTokenTTL)),
	})
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	params := password.DefaultParams()
	params.Memory, params.Iterations = s.cfg.Argon2MemoryKiB, s.cfg.Argon2Iterations
	hasher, err := password.New(password.Config{Params: params, MaxConcurrent: s.cfg.Argon2Concurrency})
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "authmesh_password_hashes_total",
		Help: "argon2id computations run (password hashes and verifications, dummy ones included).",
	}, func() float64 { return float64(hasher.Computations()) }))
	limiter, err := s.newLimiter()
	if err != nil {
		return nil, err
	}
	var keys auth.KeyWithdrawer
	if s.ring != nil {
		keys = s.ring
	}
	s.clients, err = auth.NewClients(auth.ClientsConfig{
		Store: s.db, Revoker: s.revs, Issuer: issuer, AccessTokenTTL: s.cfg.AccessTokenTTL, Logger: s.log,
	})
	if err != nil {
		return nil, err
	}
	return auth.New(auth.Config{
		Users: s.db, Sessions: s.db, Admin: s.db, Audit: s.db, Revoker: s.revs, Keys: keys, Issuer: issuer, Verifier: verifier, Passwords: hasher, Limiter: limiter,
		Device: func(ua string) (string, string) {
			d := device.Parse(ua)
			return d.Type, d.Name
		},
		PasswordPolicy: password.CheckPolicy,
		AccessTokenTTL: s.cfg.AccessTokenTTL, RefreshTokenTTL: s.cfg.RefreshTokenTTL, RefreshReuseGrace: s.cfg.RefreshReuseGrace,
		MaxSessionsPerUser: s.cfg.MaxSessionsPerUser, Logger: s.log,
		Mail: auth.MailConfig{
			Tokens: s.db, Composer: composer{from: cmp.Or(s.cfg.MailFrom, DefaultMailFrom)}, PublicURL: s.cfg.publicURL(s.cfg.Port),
			VerificationTTL: s.cfg.EmailVerificationTTL, ResetTTL: s.cfg.PasswordResetTTL,
			RequireVerifiedEmail: s.cfg.RequireVerifiedEmail,
		},
	})
}

// ListenAndServe serves on PORT until ctx is done, running the background
// work (key rotation, revocation upkeep) alongside; ready receives the
// listening address.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(s.cfg.Port))
	if err != nil {
		return fmt.Errorf("PORT=%d: %w", s.cfg.Port, err)
	}
	if s.cfg.MaxConnections > 0 {
		ln = limitListener(ln, s.cfg.MaxConnections)
	}
	adminSrv, adminLn, err := s.adminServer()
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler: s.handler, MaxHeaderBytes: 64 << 10,
		// A client must send its whole request within 10s; the feed lifts
		// the deadline only for a stream it has admitted.
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range s.background() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("background component stopped", "component", fmt.Sprintf("%T", c), "err", err)
			}
		}()
	}
	errc := make(chan error, 2)
	go func() { errc <- s.serve(srv, ln) }()
	if adminSrv != nil {
		go func() {
			if err := s.serveAdmin(adminSrv, adminLn); err != nil {
				errc <- fmt.Errorf("ADMIN_ADDR: %w", err)
			}
		}()
		s.log.Info("admin API listening", "addr", adminLn.Addr().String(), "token_required", s.cfg.AdminToken != "", "tls", s.adminCerts != nil)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		s.endStreams()
		err = srv.Shutdown(shutdown)
	}
	if adminSrv != nil {
		_ = adminSrv.Close()
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// runner is a background component: it works until ctx is done, then
// returns ctx's error. Every component the server owns has this shape.
type runner interface {
	Run(ctx context.Context) error
}

// background lists the components the server runs while serving.
func (s *Server) background() []runner {
	runs := []runner{s.revs, s.deps, s.outbox, &auditPruner{db: s.db, retention: s.cfg.AuditRetention, log: s.log},
		&accountTokenPruner{db: s.db, log: s.log}}
	if s.ring != nil {
		runs = append(runs, s.ring)
	}
	return runs
}

// WithdrawKey withdraws the signing key kid and revokes the tokens it
// signed (auth.Service.WithdrawKey); the `keys withdraw` command runs it.
func (s *Server) WithdrawKey(ctx context.Context, kid string) error {
	return s.svc.WithdrawKey(ctx, kid)
}

// Clients returns the service clients' use cases, for the operator
// commands.
func (s *Server) Clients() *auth.Clients { return s.clients }

// RevokeIssuedBefore revokes every token issued before t, of every user
// (userID "") or of one (auth.Service.RevokeIssuedBefore), and returns how
// many sessions it ended; the `revoke-before` command runs it.
func (s *Server) RevokeIssuedBefore(ctx context.Context, t time.Time, userID string) (int, error) {
	return s.svc.RevokeIssuedBefore(ctx, t, userID)
}

// AdminHandler returns the admin API's handler, nil when ADMIN_ADDR=off
// (for tests).
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Handler returns the service's HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// Close exports the spans still buffered, then releases connections and
// files. Safe to call more than once.
func (s *Server) Close() error {
	s.endStreams()
	if s.tracing != nil {
		flush, stop := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.tracing.Shutdown(flush); err != nil {
			s.log.Warn("tracing: spans lost at shutdown", "err", err)
		}
		stop()
		s.tracing = nil
	}
	if s.rdb != nil {
		_ = s.rdb.Close()
		s.rdb = nil
	}
	if s.db != nil {
		_ = s.db.Close()
		s.db = nil
	}
	return nil
}

// clientResolver returns the function that describes a request's client.
func (s *Server) clientResolver() (func(*http.Request) auth.ClientInfo, error) {
	res, err := clientip.New(s.cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	return func(r *http.Request) auth.ClientInfo {
		return auth.ClientInfo{IP: res.ClientIP(r), UserAgent: r.UserAgent()}
	}, nil
}
