// Command loadtest drives a realistic mix of requests against the running
// binaries for a fixed time: validated requests at the example
// microservice's /api/protected, token refreshes and logins at the auth
// service, each login followed by the logout of the session it replaces.
// It reports throughput, latency percentiles per operation, errors and the
// revocation propagation (from a logout's answer to the microservice
// refusing the logged-out token) as a table, and as PNG plots (latency
// percentiles over time, propagation histogram).
//
// It starts the binaries itself (built from this module; embedded default,
// or with REDIS_ADDR and DATABASE_URL given by -redis and -database), or
// targets running ones given by -auth-url and -service-url. See
// docs/PERFORMANCE.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	Duration   time.Duration
	Workers    int
	Users      int
	Mix        mix
	AuthURL    string
	ServiceURL string
	Redis      string
	Database   string
	Out        string
	CPUProfile string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to drive load")
	fs.IntVar(&o.Workers, "workers", 8, "concurrent clients (each owns its users, so none logs out a session another uses)")
	fs.IntVar(&o.Users, "users", 4, "accounts per worker")
	fs.Float64Var(&o.Mix.Refresh, "refresh", 0.10, "share of refreshes")
	fs.Float64Var(&o.Mix.Login, "login", 0.01, "share of logins (each followed by the logout of the replaced session)")
	fs.StringVar(&o.AuthURL, "auth-url", "", "a running auth service (with -service-url); empty: start the binaries")
	fs.StringVar(&o.ServiceURL, "service-url", "", "a running example microservice validating the auth service's tokens")
	fs.StringVar(&o.Redis, "redis", "", "when starting the binaries: REDIS_ADDR for both (with -database: the distributed mode)")
	fs.StringVar(&o.Database, "database", "", "when starting the binaries: the auth service's DATABASE_URL")
	fs.StringVar(&o.Out, "out", ".", "directory for the PNG plots")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "when starting the binaries: write the auth service's CPU profile over the run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.Duration <= 0:
		return o, errors.New("-duration must be positive")
	case o.Workers < 1 || o.Users < 1:
		return o, errors.New("-workers and -users must be at least 1")
	case o.Mix.Refresh < 0 || o.Mix.Login < 0 || o.Mix.Refresh+o.Mix.Login >= 1:
		return o, errors.New("-refresh and -login must be non-negative and leave room for validated requests")
	case (o.AuthURL == "") != (o.ServiceURL == ""):
		return o, errors.New("-auth-url and -service-url go together")
	case o.AuthURL != "" && (o.Redis != "" || o.Database != "" || o.CPUProfile != ""):
		return o, errors.New("-redis, -database and -cpuprofile apply to binaries this command starts; not with -auth-url (profile a running service at its admin listener, /debug/pprof/profile)")
	case o.CPUProfile != "" && o.Duration < time.Second:
		return o, errors.New("-cpuprofile needs a -duration of at least 1s")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	authURL, serviceURL, adminURL := o.AuthURL, o.ServiceURL, ""
	mode := "running binaries at " + authURL
	if authURL == "" {
		dir, err := os.MkdirTemp("", "authmesh-loadtest")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		d, err := deploy(ctx, dir, o.Redis, o.Database)
		if err != nil {
			return err
		}
		defer d.Close()
		authURL, serviceURL, adminURL, mode = d.AuthURL, d.ServiceURL, d.AdminURL, d.Mode
	}
	var profiled chan error
	if o.CPUProfile != "" {
		profiled = make(chan error, 1)
		go func() { profiled <- cpuProfile(ctx, adminURL, o.Duration, o.CPUProfile) }()
	}
	fmt.Fprintf(stdout, "loadtest: %s; %d workers × %d users for %s (validate %.0f%%, refresh %.0f%%, login+logout %.0f%%)\n",
		mode, o.Workers, o.Users, o.Duration, 100*(1-o.Mix.Refresh-o.Mix.Login), 100*o.Mix.Refresh, 100*o.Mix.Login)
	res, err := drive(ctx, driver{Auth: authURL, Service: serviceURL, Workers: o.Workers, Users: o.Users, Mix: o.Mix, Duration: o.Duration})
	if err != nil {
		return err
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return err
		}
		fmt.Fprintf(stdout, "auth service CPU profile: %s (go tool pprof %s)\n", o.CPUProfile, o.CPUProfile)
	}
	res.writeTable(stdout)
	files, err := res.plot(o.Out, mode)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plots: %v\n", files)
	if n := res.errors(); n > 0 {
		return fmt.Errorf("%d requests failed (first: %s)", n, res.firstErr)
	}
	return nil
}

// cpuProfile fetches the auth service's CPU profile over d (whole seconds)
// from its admin listener and writes it to path.
func cpuProfile(ctx context.Context, adminURL string, d time.Duration, path string) error {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", adminURL, int(d/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("cpu profile: GET %s: %s: %s", url, resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}
