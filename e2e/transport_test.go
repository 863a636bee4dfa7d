package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPlainHTTPAuthURL: a microservice refuses to fetch signing keys over
// plain http:// from a host that is not loopback (anyone on the path could
// swap them) and says how to opt in; with ALLOW_INSECURE_AUTH_URL=true it
// uses the same URL and validates tokens.
//
// The non-loopback host is a name under the reserved .test domain, reached
// through an HTTP proxy on loopback that forwards to the real auth service:
// the microservice sees exactly what a service on another host would, and
// no packet leaves the loopback interface.
func TestPlainHTTPAuthURL(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir()}), "/healthz")
	target, err := url.Parse(auth.URL)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.FlushInterval = -1 // the revocation feed is a stream
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	authURL := "http://auth.authmesh.test:" + target.Port()
	proxyEnv := map[string]string{
		"HTTP_PROXY": proxy.URL, "http_proxy": proxy.URL,
		"NO_PROXY": "localhost", "no_proxy": "localhost",
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exampleBin)
	cmd.Env = append(os.Environ(), "AUTH_URL="+authURL, "PORT=0")
	for k, v := range proxyEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); !exited || ctx.Err() != nil {
		t.Fatalf("plain http AUTH_URL %s: microservice did not exit with an error (err %v):\n%s", authURL, err, out)
	}
	if msg := strings.TrimSpace(string(out)); strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "ALLOW_INSECURE_AUTH_URL") {
		t.Errorf("refusal is not one line naming ALLOW_INSECURE_AUTH_URL:\n%s", out)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("the refused microservice sent %d requests to AUTH_URL; want none", n)
	}

	svc := start(t, exampleBin, merge(proxyEnv, map[string]string{"AUTH_URL": authURL, "ALLOW_INSECURE_AUTH_URL": "true"}), "/health")
	a := registerAndLogin(t, auth.URL, "plain-http@example.com")
	quickStartRequests(t, svc.URL, a)
	if proxied.Load() == 0 {
		t.Error("the microservice never reached AUTH_URL through the non-loopback name")
	}
}
