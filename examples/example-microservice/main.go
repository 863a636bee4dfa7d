// Command example-microservice is a small service protected by the authmesh
// validator: it checks access tokens locally and sees revocations within
// milliseconds.
//
// Environment: PORT (default 8081), JWT_SECRET, REDIS_ADDR, REDIS_PASSWORD,
// REDIS_DB, REDIS_MASTER_NAME, FEED_TOKEN (the auth service's feed
// credential, when it requires one), AUTH_URL (default http://localhost:8080, used
// only when there is neither a secret nor Redis), ALLOW_INSECURE_AUTH_URL
// (true: accept a plain http:// AUTH_URL to a host other than loopback; see
// below), AUTH_CA_FILE (PEM certificate authorities to verify an https://
// AUTH_URL with, instead of the system's roots), FAIL_CLOSED (true: reject
// tokens once the revocation state is stale), MAX_STALENESS (Go duration),
// ALLOWED_ORIGINS (origins besides its own whose cookie-authenticated POSTs
// it accepts).
//
// ALLOW_INSECURE_AUTH_URL trades security for convenience: over plain HTTP
// anyone on the network path can swap the signing keys the service trusts
// (and so forge any token) or hide logouts. Set it only for in-cluster
// traffic on a network you control (a Compose network, a Kubernetes Service
// behind a network policy or a mesh with mTLS); elsewhere use https.
//
// Probes: GET /livez answers while the process serves; GET /readyz fails
// (503) only until the validator has its keys and first revocation
// snapshot, and otherwise says "degraded" in its JSON body without failing
// (a stale revocation state is shared by every replica); GET /health
// explains the state in one line and fails while tokens are rejected.
//
// "example-microservice healthcheck" GETs the running service's /readyz on
// PORT and exits 0 when it answers 200, 1 otherwise: a container health
// check with no shell or curl in the image.
//
// Each secret (JWT_SECRET, REDIS_PASSWORD, FEED_TOKEN) can instead be
// given as a file named by NAME_FILE, a mounted secret
// (docs/CONFIGURATION.md).
//
// JWT_SECRET alone is refused at start: without REDIS_ADDR or AUTH_URL the
// service would never see a logout and would accept revoked tokens until
// they expire.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authmesh/authmesh/examples/internal/validatorenv"
	"github.com/authmesh/authmesh/internal/healthcheck"
	"github.com/authmesh/authmesh/internal/telemetry"
	"github.com/authmesh/authmesh/session"
)

// version is the release, set at link time by scripts/build.sh.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "example-microservice:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// run starts the service and blocks until ctx is done; with the argument
// "healthcheck" it checks the running service's readiness instead. When
// ready is not nil it receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	return validatorenv.Run(ctx, validatorenv.Command{
		Name: "example-microservice", Title: "example microservice", Version: version, DefaultPort: defaultPort,
		Healthcheck: func(ctx context.Context, port int) error { return healthcheck.Local(ctx, port, "/readyz") },
		Serve:       serve,
	}, args, getenv, stdout, stderr, ready)
}

// defaultPort is PORT's default.
const defaultPort = "8081"

// serve serves the API on ln until ctx is done, then shuts down, letting
// requests finish for up to 5 s. With tracing on every request is a server
// span (continuing an incoming W3C traceparent) that records the token's
// validation as an event.
func serve(ctx context.Context, v *session.SessionValidator, ln net.Listener, tr *telemetry.Tracing) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(v.Collector()); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	srv := &http.Server{
		Handler:           tr.Handler(session.CORSMiddleware(v)(routes(v, reg, ctx.Done()))),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// loadConfig reads the environment into a validator Config and a port.
func loadConfig(getenv func(string) string) (session.Config, string, error) {
	return validatorenv.Load(getenv, defaultPort)
}

// routes lists the whole API of the example; streams end when stop is
// closed (shutdown).
func routes(v *session.SessionValidator, reg *prometheus.Registry, stop <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/public", session.OptionalHTTPMiddleware(v)(http.HandlerFunc(public)))
	mux.HandleFunc("GET /api/protected", session.RequireAuth(v, protected))
	mux.HandleFunc("GET /api/profile", session.RequireAuth(v, profile))
	// A stream: its request's context ends the moment the token is revoked.
	mux.Handle("GET /api/stream", session.StreamingHTTPMiddleware(v)(stream(time.Second, stop)))
	mux.HandleFunc("POST /api/greetings", session.RequireAuth(v, greet))
	mux.HandleFunc("GET /health", health(v))
	mux.Handle("GET /livez", v.LivenessHandler())
	mux.Handle("GET /readyz", v.ReadinessHandler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

func public(w http.ResponseWriter, r *http.Request) {
	if id, ok := session.GetUserID(r.Context()); ok {
		fmt.Fprintf(w, "Hello! You are authenticated as user: %s", id)
		return
	}
	fmt.Fprint(w, "Hello! This is a public endpoint. No authentication required.")
}

func protected(w http.ResponseWriter, r *http.Request) {
	userID, _ := session.GetUserID(r.Context())
	tokenID, _ := session.GetTokenID(r.Context())
	fmt.Fprintf(w, "Welcome authenticated user!\nUser ID: %s\nToken ID: %s\n", userID, tokenID)
}

// greet is a state-changing endpoint: with the access cookie alone it
// answers only same-origin requests (session.HTTPMiddleware's CSRF check).
func greet(w http.ResponseWriter, r *http.Request) {
	userID, _ := session.GetUserID(r.Context())
	fmt.Fprintf(w, "Greeting recorded for user %s\n", userID)
}

func profile(w http.ResponseWriter, r *http.Request) {
	c, ok := session.GetClaims(r.Context())
	if !ok {
		http.Error(w, session.UnauthorizedBody, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"user_id":    c.UserID,
		"token_id":   c.TokenID,
		"session_id": c.SessionID,
		"issued_at":  c.IssuedAt.UTC().Format(time.RFC3339),
		"expires_at": c.ExpiresAt.UTC().Format(time.RFC3339),
		"issuer":     c.Issuer,
	})
}

// health answers OK, or explains the degradation; it fails (503) only when
// the validator is rejecting tokens.
func health(v *session.SessionValidator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := v.Health()
		if h.Rejecting {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, h.String())
	}
}
