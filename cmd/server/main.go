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
//	server revoke-before --time RFC3339|now [--user ID]
//	                           revoke every token issued before the time, of
//	                           every user or of one, as one revocation entry,
//	                           and end the sessions begun before it
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/healthcheck"
	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/internal/telemetry"
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
	var cut *revokeBefore
	if len(args) > 0 && args[0] == "revoke-before" {
		c, err := parseRevokeBefore(args[1:], time.Now)
		if err != nil {
			return err
		}
		cut = &c
	} else if len(args) > 0 && !healthCheck && !isKeysWithdraw(args) && !clients {
		return fmt.Errorf("unknown command %q; usage: %s", strings.Join(args, " "), usage)
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
	// Lines logged with a request's context carry its trace_id and span_id.
	log := slog.New(telemetry.LogHandler(slog.NewTextHandler(stderr, nil)))
	// go-redis logs through one process-wide logger: main wiring is the
	// one place that may set it.
	redis.SetLogger(session.RedisLogger(log))
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if !clients && cut == nil && !isKeysWithdraw(args) {
		server.SchedulerHeadroom(&cfg, getenv("GOMAXPROCS") != "")
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if clients {
		return srv.ClientsCommand(ctx, args[1:], stdout)
	}
	if cut != nil {
		ended, err := srv.RevokeIssuedBefore(ctx, cut.at, cut.user)
		if err != nil {
			return fmt.Errorf("revoke-before: %w", err)
		}
		whose := "every user"
		if cut.user != "" {
			whose = "user " + cut.user
		}
		fmt.Fprintf(stdout, "revoked every token of %s issued before %s: validators refuse them; %d sessions ended\n",
			whose, cut.at.UTC().Format(time.RFC3339), ended)
		return nil
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

// usage lists the operator commands.
const usage = "server [healthcheck | keys withdraw KID | clients ... | revoke-before --time RFC3339|now [--user ID]]"

// revokeBefore is the parsed revoke-before command.
type revokeBefore struct {
	at   time.Time
	user string
}

// parseRevokeBefore parses the arguments of revoke-before: --time, an
// RFC 3339 time or "now" (required), and --user, a user id (optional).
func parseRevokeBefore(args []string, now func() time.Time) (revokeBefore, error) {
	fs := flag.NewFlagSet("revoke-before", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	at := fs.String("time", "", "revoke tokens issued before this RFC 3339 time, or now")
	user := fs.String("user", "", "only this user's tokens (default: every user's)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return revokeBefore{}, fmt.Errorf("revoke-before: bad arguments %q; usage: server revoke-before --time RFC3339|now [--user ID]", strings.Join(args, " "))
	}
	var c revokeBefore
	switch *at {
	case "":
		return revokeBefore{}, errors.New("revoke-before: --time is required: an RFC 3339 time (2026-12-01T15:00:00Z) or now")
	case "now":
		c.at = now()
	default:
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return revokeBefore{}, fmt.Errorf("revoke-before: --time %q is not an RFC 3339 time (2026-12-01T15:00:00Z) nor now", *at)
		}
		c.at = t
	}
	c.user = *user
	return c, nil
}

// isKeysWithdraw reports whether args are "keys withdraw KID".
func isKeysWithdraw(args []string) bool {
	return len(args) == 3 && args[0] == "keys" && args[1] == "withdraw" && args[2] != ""
}
