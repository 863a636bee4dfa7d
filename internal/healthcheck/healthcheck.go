// Package healthcheck implements the binaries' healthcheck subcommand: one
// GET of the running service's own health endpoint on the loopback
// interface, so a container health check (Compose's healthcheck.test)
// needs neither a shell nor curl in the image.
package healthcheck

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Timeout bounds one check: a service that does not answer within it is
// unhealthy.
const Timeout = 5 * time.Second

// ErrNoFixedPort is returned for port 0: the service listens on a port
// chosen at start, which the check cannot know.
var ErrNoFixedPort = errors.New("healthcheck: PORT=0 (any free port) gives no fixed port to check; set PORT")

// Local checks the service listening on port of this host: it GETs
// http://127.0.0.1:PORT/path and returns nil when the answer is 200 OK.
// Otherwise the error gives the status and the first line of the body, or
// why there was no answer.
func Local(ctx context.Context, port int, path string) error {
	if port == 0 {
		return ErrNoFixedPort
	}
	return Check(ctx, fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
}

// LocalHTTPS is Local for a service serving HTTPS. It does not verify the
// certificate: it checks this host's own process over loopback, and the
// certificate names the service's public host, not 127.0.0.1.
func LocalHTTPS(ctx context.Context, port int, path string) error {
	if port == 0 {
		return ErrNoFixedPort
	}
	return check(ctx, fmt.Sprintf("https://127.0.0.1:%d%s", port, path), &tls.Config{InsecureSkipVerify: true})
}

// Check GETs url and returns nil when the answer is 200 OK, within
// Timeout.
func Check(ctx context.Context, url string) error {
	return check(ctx, url, nil)
}

func check(ctx context.Context, url string, tlsConfig *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// A client of its own: no proxy from the environment, no redirects.
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: tlsConfig},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	line, _ := bufio.NewReader(io.LimitReader(resp.Body, 512)).ReadString('\n')
	return fmt.Errorf("healthcheck: GET %s: %s: %s", url, resp.Status, strings.TrimSpace(line))
}
