package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/proc"
	"github.com/authmesh/authmesh/internal/testenv"
)

// startTLS runs bin like start, serving HTTPS on 127.0.0.1 and checked
// with client.
func startTLS(t *testing.T, bin string, env map[string]string, healthPath string, client *http.Client) *service {
	t.Helper()
	port := testenv.FreePort(t)
	s := &service{t: t, bin: bin, URL: "https://127.0.0.1:" + strconv.Itoa(port), log: new(proc.Buffer)}
	s.env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	s.run()
	t.Cleanup(s.Stop)
	ready := func(ctx context.Context) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+healthPath, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := s.process.WaitReady(context.Background(), s.URL+healthPath, 20*time.Second, ready); err != nil {
		t.Fatal(err)
	}
	return s
}

// gqlWith posts a GraphQL document with client, failing the test on a
// transport error, a 5xx or a GraphQL error.
func gqlWith(t *testing.T, client *http.Client, base, query, bearer string) gqlResult {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", browserUA)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s/graphql: %v", base, err)
	}
	defer resp.Body.Close()
	var r gqlResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode >= 500 || len(r.Errors) > 0 {
		t.Fatalf("POST %s/graphql: status %d, %+v, %v", base, resp.StatusCode, r, err)
	}
	return r
}

// servedSerial completes a fresh handshake with addr and returns the
// serial number of the certificate it presented, verified against ca.
func servedSerial(t *testing.T, addr string, ca *testenv.CA) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestTLS: the auth service serves HTTPS from TLS_CERT_FILE/TLS_KEY_FILE;
// the example microservice, trusting the CA through AUTH_CA_FILE, fetches
// the JWKS and follows the revocation feed over https and sees a logout;
// without the CA it does not trust the service (not ready). A certificate
// rotated on disk is served from the next handshake, without a restart,
// and the healthcheck subcommand speaks https.
func TestTLS(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := testenv.NewCA(t, "authmesh e2e CA")
	first := ca.Issue(certFile, keyFile, "auth first")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12},
	}}
	auth := startTLS(t, serverBin, merge(cheapArgon, map[string]string{
		"DATA_DIR": t.TempDir(), "TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile,
	}), "/readyz", client)
	addr := strings.TrimPrefix(auth.URL, "https://")
	if got := servedSerial(t, addr, ca); got.Cmp(first) != 0 {
		t.Fatalf("served serial %v; want %v", got, first)
	}
	if code, out := healthcheck(t, auth); code != 0 {
		t.Fatalf("server healthcheck over https: exit %d: %s", code, out)
	}

	svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL, "AUTH_CA_FILE": ca.File}, "/readyz")
	untrusting := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/livez")

	email := "tls@example.com"
	gqlWith(t, client, auth.URL, fmt.Sprintf(`mutation { register(input: {email: %q, password: "Test1234!"}) { user { id } } }`, email), "")
	var lr struct{ Token string }
	gqlWith(t, client, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: "Test1234!"}) { token } }`, email), "").field(t, "login", &lr)
	waitStatus(t, svc.URL+"/api/protected", lr.Token, http.StatusOK, 10*time.Second)

	second := ca.Issue(certFile, keyFile, "auth second")
	if got := servedSerial(t, addr, ca); got.Cmp(second) != 0 {
		t.Fatalf("after rotating the files: served serial %v; want the new %v", got, second)
	}
	gqlWith(t, client, auth.URL, `mutation { logout }`, lr.Token)
	waitStatus(t, svc.URL+"/api/protected", lr.Token, http.StatusUnauthorized, 10*time.Second)

	if code, status := probeStatus(t, untrusting.URL+"/readyz"); code != http.StatusServiceUnavailable || status != "not ready" {
		t.Fatalf("example without AUTH_CA_FILE: /readyz %d %q; want 503 not ready (the service's CA is not among the system's roots)", code, status)
	}
}
