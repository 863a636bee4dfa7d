package e2e_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPlainHTTPAuthURL: a microservice refuses to fetch signing keys over
// plain http:// from a host that is not loopback (anyone on the path could
// swap them) and says how to opt in; with ALLOW_INSECURE_AUTH_URL=true it
// uses the same URL and validates tokens.
func TestPlainHTTPAuthURL(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir()}), "/healthz")
	u, err := url.Parse(auth.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The auth service listens on every interface: reach it the way a
	// service on another host would.
	authURL := "http://" + net.JoinHostPort(nonLoopbackIP(t), u.Port())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exampleBin)
	cmd.Env = append(os.Environ(), "AUTH_URL="+authURL, "PORT=0")
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); !exited || ctx.Err() != nil {
		t.Fatalf("plain http AUTH_URL %s: microservice did not exit with an error (err %v):\n%s", authURL, err, out)
	}
	if msg := strings.TrimSpace(string(out)); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "ALLOW_INSECURE_AUTH_URL") {
		t.Errorf("refusal is not one line naming ALLOW_INSECURE_AUTH_URL:\n%s", out)
	}

	svc := start(t, exampleBin, map[string]string{"AUTH_URL": authURL, "ALLOW_INSECURE_AUTH_URL": "true"}, "/health")
	a := registerAndLogin(t, auth.URL, "plain-http@example.com")
	quickStartRequests(t, svc.URL, a)
}

// nonLoopbackIP returns an IPv4 address of this machine that is not
// loopback.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Fatalf("this test needs a network interface with a non-loopback IPv4 address; have %v", addrs)
	return ""
}
