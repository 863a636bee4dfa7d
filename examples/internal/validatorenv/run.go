package validatorenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/telemetry"
	"github.com/authmesh/authmesh/session"
)

// Command describes an example service to Run.
type Command struct {
	Name        string // the binary, in the usage message: "example-microservice"
	Title       string // in the listening line: "example microservice"
	Version     string // the release, printed in the listening line
	DefaultPort string // PORT when unset
	// Healthcheck checks the service running on this host's port, for
	// "NAME healthcheck": nil means healthy.
	Healthcheck func(ctx context.Context, port int) error
	// Serve serves on ln with v until ctx is done, then stops gracefully.
	// tr traces its requests (OpenTelemetry; a no-op unless the OTEL_*
	// variables turn it on, as for the auth service).
	Serve func(ctx context.Context, v *session.SessionValidator, ln net.Listener, tr *telemetry.Tracing) error
}

// Run is the whole run of an example service, the part every example
// shares around its own Serve: it accepts only the argument "healthcheck";
// logs to stderr, go-redis' messages included; reads the configuration
// from getenv (Load); with "healthcheck" checks the running service and
// returns; otherwise sets tracing up from the standard OTEL_* variables
// (off unless they turn it on; service.name the binary's Name), opens the
// validator (Open), keeps its revocation state in sync, listens on PORT,
// prints the listening line on stdout, sends the address to ready when it
// is not nil, and serves until ctx is done; then it flushes the spans.
func Run(ctx context.Context, c Command, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	healthCheck := len(args) == 1 && args[0] == "healthcheck"
	if len(args) > 0 && !healthCheck {
		return fmt.Errorf("unknown command %q; usage: %s [healthcheck]", strings.Join(args, " "), c.Name)
	}
	log := slog.New(telemetry.LogHandler(slog.NewTextHandler(stderr, nil)))
	// go-redis logs through one process-wide logger: main wiring is the
	// one place that may set it.
	redis.SetLogger(session.RedisLogger(log))
	cfg, port, err := Load(getenv, c.DefaultPort)
	if err != nil {
		return err
	}
	if healthCheck {
		n, _ := strconv.Atoi(port) // Load checked it
		return c.Healthcheck(ctx, n)
	}
	tracingOn, err := telemetry.EnvEnabled(getenv)
	if err != nil {
		return err
	}
	tr, err := telemetry.New(ctx, telemetry.Config{Enabled: tracingOn, ServiceName: c.Name, Operation: c.Name})
	if err != nil {
		return err
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(flush); err != nil {
			log.Warn("tracing: spans lost at shutdown", "err", err)
		}
	}()
	v, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer v.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go v.SubscribeToInvalidations(ctx)

	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return fmt.Errorf("listen on PORT=%s: %w", port, err)
	}
	fmt.Fprintf(stdout, "%s %s listening on %s\n", c.Title, c.Version, ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	return c.Serve(ctx, v, ln, tr)
}
