// Command server is the authmesh auth service: GraphQL API for accounts and
// sessions, key publication (JWKS), the revocation feed, health and metrics.
// Configuration comes from the environment (see docs/CONFIGURATION.md).
//
// With arguments it runs an operator command against the same database and
// Redis instead of serving:
//
//	server healthcheck         GET this host's /readyz on PORT (https with
//	                           TLS_CERT_FILE): exit 0 when the service
//	                           answers 200, 1 otherwise (a container
//	                           health check with no shell or curl)
//	server keys withdraw KID   withdraw a signing key (leaked, or retired
//	                           early) and revoke every token it signed
//	server clients ...         manage service clients (OAuth 2.0 client
//	                           credentials): create, list, disable, enable,
//	                           rotate, delete; see "server clients help"
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/healthcheck"
	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/session"
)

// version is the release, set at link time by scripts/build.sh.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		// One line, whatever the driver's error looks like.
		fmt.Fprintln(os.Stderr, "authmesh:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// run reads the configuration, then runs the operator command in args or,
// without args, starts the service and blocks until ctx is done. When ready
// is not nil it receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	healthCheck := len(args) == 1 && args[0] == "healthcheck"
	clients := len(args) > 0 && args[0] == "clients"
	if len(args) > 0 && !healthCheck && !isKeysWithdraw(args) && !clients {
		return fmt.Errorf("unknown command %q; usage: server [healthcheck | keys withdraw KID | clients ...]", strings.Join(args, " "))
	}
	if clients && (len(args) == 1 || args[1] == "help") {
		fmt.Fprint(stdout, server.ClientsUsage)
		return nil
	}
	cfg, err := server.LoadConfig(getenv)
	if err != nil {
		return err
	}
	if healthCheck {
		if cfg.TLSCertFile != "" {
			return healthcheck.LocalHTTPS(ctx, cfg.Port, "/readyz")
		}
		return healthcheck.Local(ctx, cfg.Port, "/readyz")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// go-redis logs through one process-wide logger: main wiring is the
	// one place that may set it.
	redis.SetLogger(session.RedisLogger(log))
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if clients {
		return srv.ClientsCommand(ctx, args[1:], stdout)
	}
	if len(args) > 0 {
		if err := srv.WithdrawKey(ctx, args[2]); err != nil {
			return fmt.Errorf("keys withdraw %s: %w", args[2], err)
		}
		fmt.Fprintf(stdout, "signing key %s withdrawn: it no longer signs, and validators refuse the tokens it signed\n", args[2])
		return nil
	}
	return srv.ListenAndServe(ctx, func(addr string) {
		playground := ""
		if cfg.GraphQLPlayground {
			playground = ", playground at /playground"
		}
		fmt.Fprintf(stdout, "authmesh auth service %s listening on %s (GraphQL at /graphql%s)\n", version, addr, playground)
		if ready != nil {
			ready <- addr
		}
	})
}

// isKeysWithdraw reports whether args are "keys withdraw KID".
func isKeysWithdraw(args []string) bool {
	return len(args) == 3 && args[0] == "keys" && args[1] == "withdraw" && args[2] != ""
}
