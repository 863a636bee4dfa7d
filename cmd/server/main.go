// Command server is the authmesh auth service: GraphQL API for accounts and
// sessions, key publication (JWKS), the revocation feed, health and metrics.
// Configuration comes from the environment (see docs/CONFIGURATION.md).
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

	"github.com/authmesh/authmesh/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		// One line, whatever the driver's error looks like.
		fmt.Fprintln(os.Stderr, "authmesh:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// run reads the configuration, starts the service and blocks until ctx is
// done. When ready is not nil it receives the listening address.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	cfg, err := server.LoadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.ListenAndServe(ctx, func(addr string) {
		playground := ""
		if cfg.Playground {
			playground = ", playground at /playground"
		}
		fmt.Fprintf(stdout, "authmesh auth service listening on %s (GraphQL at /graphql%s)\n", addr, playground)
		if ready != nil {
			ready <- addr
		}
	})
}
