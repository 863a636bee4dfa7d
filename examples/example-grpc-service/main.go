// Command example-grpc-service is a small gRPC service protected by the
// authmesh validator through session/grpcauth: it checks access tokens
// locally and sees revocations within milliseconds, like the HTTP example.
//
// It serves authmesh.example.v1.ExampleService (example.proto: Whoami, and
// Watch, a stream of one event a second), plus the standard
// grpc.health.v1.Health service and server reflection, both without
// authentication. Health, for the server as a whole (readiness), answers
// NOT_SERVING only until the validator has its keys and first revocation
// snapshot; for ExampleService, NOT_SERVING while the validator rejects
// every token (not ready, or stale with FAIL_CLOSED); for "liveness",
// SERVING while the process serves.
//
// Environment: that of examples/example-microservice (JWT_SECRET,
// REDIS_ADDR, REDIS_PASSWORD, REDIS_DB, REDIS_MASTER_NAME, FEED_TOKEN,
// AUTH_URL, ALLOW_INSECURE_AUTH_URL, AUTH_CA_FILE, FAIL_CLOSED,
// MAX_STALENESS, ISSUER, AUDIENCE, REDIS_PREFIX; each secret also as a file named by NAME_FILE;
// see docs/CONFIGURATION.md), with PORT defaulting to 9090. The service itself
// listens without TLS, as a service behind a mesh or a TLS-terminating
// proxy would.
//
// "example-grpc-service healthcheck" asks the running service's health
// service on PORT and exits 0 when it answers SERVING, 1 otherwise: a
// container health check with no shell or grpcurl in the image.
//
// The Go code in examplepb is generated from example.proto by
// `go generate ./examples/example-grpc-service/`.
package main

//go:generate go tool buf generate

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/examples/example-grpc-service/examplepb"
	"github.com/authmesh/authmesh/examples/internal/validatorenv"
	"github.com/authmesh/authmesh/internal/healthcheck"
	"github.com/authmesh/authmesh/internal/telemetry"
	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// version is the release, set at link time by scripts/build.sh.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "example-grpc-service:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// loadConfig reads the environment into a validator Config and a port.
func loadConfig(getenv func(string) string) (session.Config, string, error) {
	return validatorenv.Load(getenv, defaultPort)
}

// run starts the service and blocks until ctx is done; with the argument
// "healthcheck" it checks the running service's health instead. When ready
// is not nil it receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	return validatorenv.Run(ctx, validatorenv.Command{
		Name: "example-grpc-service", Title: "example gRPC service", Version: version, DefaultPort: defaultPort,
		Healthcheck: checkHealth,
		Serve:       serve,
	}, args, getenv, stdout, stderr, ready)
}

// defaultPort is PORT's default.
const defaultPort = "9090"

// serve serves the gRPC API on ln, keeping the health service in step with
// the validator, until ctx is done; then it lets calls finish for up to 5 s.
func serve(ctx context.Context, v *session.SessionValidator, ln net.Listener, tr *telemetry.Tracing) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, hs := newServer(v, tracing(tr)...)
	done := make(chan struct{})
	go func() { defer close(done); reportHealth(ctx, v, hs) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		stopGracefully(srv, 5*time.Second)
		err = <-errc
	}
	cancel()
	<-done
	return err
}

// tracing returns the server options that trace every call with tr when it
// is on: a server span per call (continuing an incoming W3C traceparent),
// on which the interceptors record the token's validation as an event.
// Health checks are not traced (probes would drown the traces). None when
// tracing is off.
func tracing(tr *telemetry.Tracing) []grpc.ServerOption {
	if !tr.Enabled() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tr.Provider()), otelgrpc.WithPropagators(tr.Propagator()),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	))}
}

// newServer registers the whole API of the example: ExampleService behind
// the interceptors, health and reflection exempt from them.
func newServer(v *session.SessionValidator, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	exempt := grpcauth.Exempt(grpcauth.HealthService, grpcauth.ReflectionService, grpcauth.ReflectionServiceV1Alpha)
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(v, exempt)),
		grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(v, exempt)),
		grpc.MaxRecvMsgSize(64 << 10),
	}, opts...)...)
	examplepb.RegisterExampleServiceServer(srv, &exampleService{tick: time.Second})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, hs
}

// checkHealth asks the gRPC health service of the service listening on
// port of this host, within healthcheck.Timeout; nil means SERVING.
func checkHealth(ctx context.Context, port int) error {
	if port == 0 {
		return healthcheck.ErrNoFixedPort
	}
	cc, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, healthcheck.Timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("healthcheck: %s (the validator has not loaded its signing keys and revocation state yet; see the service's log)", st)
	}
	return nil
}

// stopGracefully lets running calls finish for up to grace, then closes
// the connections (Watch streams never finish on their own).
func stopGracefully(srv *grpc.Server, grace time.Duration) {
	t := time.AfterFunc(grace, srv.Stop)
	defer t.Stop()
	srv.GracefulStop()
}

// LivenessService is the health service name that answers SERVING while
// the process serves (a Kubernetes grpc liveness probe's service).
const LivenessService = "liveness"

// reportHealth keeps the health service's statuses in step with the
// validator until ctx is done. The server as a whole ("", what readiness
// probes ask) is NOT_SERVING only until the validator is ready: a stale
// revocation state is shared by every replica, so it does not take them
// out of service. ExampleService is NOT_SERVING while its calls would be
// refused (not ready, or stale with FAIL_CLOSED); LivenessService is
// always SERVING.
func reportHealth(ctx context.Context, v *session.SessionValidator, hs *health.Server) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	status := func(ok bool) healthpb.HealthCheckResponse_ServingStatus {
		if ok {
			return healthpb.HealthCheckResponse_SERVING
		}
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	hs.SetServingStatus(LivenessService, healthpb.HealthCheckResponse_SERVING)
	for {
		h := v.Health()
		hs.SetServingStatus("", status(h.Ready))
		hs.SetServingStatus(examplepb.ExampleService_ServiceDesc.ServiceName, status(!h.Rejecting))
		select {
		case <-ctx.Done():
			hs.Shutdown()
			return
		case <-t.C:
		}
	}
}

// exampleService implements ExampleService; the interceptors have
// authenticated every call that reaches it.
type exampleService struct {
	examplepb.UnimplementedExampleServiceServer
	tick time.Duration // between Watch events
}

func (s *exampleService) Whoami(ctx context.Context, _ *examplepb.WhoamiRequest) (*examplepb.WhoamiResponse, error) {
	c, ok := session.GetClaims(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, session.UnauthorizedBody)
	}
	return &examplepb.WhoamiResponse{UserId: c.UserID, TokenId: c.TokenID, SessionId: c.SessionID}, nil
}

func (s *exampleService) Watch(_ *examplepb.WatchRequest, stream grpc.ServerStreamingServer[examplepb.WatchEvent]) error {
	userID, ok := session.GetUserID(stream.Context())
	if !ok {
		return status.Error(codes.Unauthenticated, session.UnauthorizedBody)
	}
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for seq := int64(1); ; seq++ {
		if err := stream.Send(&examplepb.WatchEvent{UserId: userID, Sequence: seq}); err != nil {
			return err
		}
		select {
		case <-stream.Context().Done():
			// The client left, or the token was revoked: the interceptor
			// then ends the stream with Unauthenticated.
			return nil
		case <-t.C:
		}
	}
}
