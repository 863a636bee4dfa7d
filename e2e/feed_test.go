package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// feedModes are the deployments whose feed the attacks target: the quick
// start (the feed serves Redis) and the embedded default (it serves the
// SQLite journal).
func feedModes() []mode {
	const secret = quickSecret + "-0123456789"
	return []mode{
		{name: "quick start", auth: func(t *testing.T) map[string]string {
			rs := testenv.StartRedis(t)
			return map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": rs.Addr, "DATA_DIR": t.TempDir()}
		}},
		{name: "embedded", auth: func(t *testing.T) map[string]string {
			return map[string]string{"DATA_DIR": t.TempDir()}
		}},
	}
}

// TestFeedStalledRequestsAreClosed reproduces the stalled-feed attack:
// requests to /v1/revocations that declare a body and never send it. Each
// must be closed by the server's read timeout rather than held, the
// server's open files must stay within MAX_CONNECTIONS however many such
// requests arrive, and /healthz must keep answering.
func TestFeedStalledRequestsAreClosed(t *testing.T) {
	const (
		maxConns = 48
		stalled  = maxConns + 24 // more than the bound: the excess waits to be accepted
		fdSlack  = 32            // database and Redis pool connections opened meanwhile
	)
	serverBin, _ := binaries(t)
	for _, m := range feedModes() {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			auth := start(t, serverBin, merge(m.auth(t), cheapArgon, map[string]string{
				"MAX_CONNECTIONS": strconv.Itoa(maxConns),
			}), "/healthz")
			baseline := openFiles(t, auth)

			kinds := []string{
				"POST " + "/v1/revocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
				"GET " + "/v1/revocations HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Length: 1000\r\n\r\n{",
			}
			conns := make([]*stalledConn, 0, stalled)
			for i := range stalled {
				conns = append(conns, openStalled(t, auth, kinds[i%len(kinds)]))
			}

			// /healthz answers (once the server has dropped the stalled
			// connections it accepted, at the latest).
			client := &http.Client{Timeout: 2 * slowClientLimit}
			resp, err := client.Get(auth.URL + "/healthz")
			if err != nil {
				t.Fatalf("/healthz during the attack: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz during the attack: got %d; want 200", resp.StatusCode)
			}

			// Every stalled connection is closed by the server; meanwhile
			// its open files never pass the connection bound.
			limit := baseline + maxConns + fdSlack
			peak := 0
			deadline := time.Now().Add(3 * slowClientLimit)
			for _, c := range conns {
				for !c.isClosed() {
					if n := openFiles(t, auth); n > peak {
						peak = n
					}
					if time.Now().After(deadline) {
						t.Fatalf("a stalled %q is still open %s after it was sent; want it closed by the read timeout",
							c.kind(), time.Since(c.opened).Round(time.Second))
					}
					select {
					case <-c.closed:
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
			if peak > limit {
				t.Errorf("the server held %d open files (%d before the attack); want at most %d with MAX_CONNECTIONS=%d", peak, baseline, limit, maxConns)
			}
			if code, _ := get(t, auth.URL+"/healthz", ""); code != 200 {
				t.Fatalf("/healthz after the attack: got %d; want 200", code)
			}
		})
	}
}

// stalledConn is a raw connection that sent a request head and part of a
// body, and waits for the server to close it.
type stalledConn struct {
	conn   net.Conn
	head   string
	opened time.Time
	closed chan struct{}
}

func (c *stalledConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *stalledConn) kind() string { return strings.SplitN(c.head, "\r\n", 2)[0] }

// openStalled sends head and then nothing more.
func openStalled(t *testing.T, p *service, head string) *stalledConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatalf("dial %s: %v", p.URL, err)
	}
	c := &stalledConn{conn: conn, head: head, opened: time.Now(), closed: make(chan struct{})}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatalf("write: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // whatever the server answers, then its close
		defer wg.Done()
		_, _ = io.Copy(io.Discard, conn)
		close(c.closed)
	}()
	t.Cleanup(func() { _ = conn.Close(); wg.Wait() })
	return c
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T, p *service) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.process.Pid()))
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(ents)
}

// TestFeedStreamsPerClientAddress: one address cannot take every stream
// slot; beyond FEED_MAX_STREAMS_PER_CLIENT it gets a clear 429.
func TestFeedStreamsPerClientAddress(t *testing.T) {
	const perClient = 3
	serverBin, _ := binaries(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{
		"DATA_DIR": t.TempDir(), "FEED_MAX_STREAMS_PER_CLIENT": strconv.Itoa(perClient),
	}), "/healthz")
	for i := range perClient {
		resp := openStream(t, auth.URL+"/v1/revocations", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: got %d; want 200", i+1, resp.StatusCode)
		}
	}
	resp := openStream(t, auth.URL+"/v1/revocations", nil)
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("stream %d from one address: got 200; want 429 beyond FEED_MAX_STREAMS_PER_CLIENT=%d", perClient+1, perClient)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many feed streams") {
		t.Fatalf("stream %d from one address: got %d %q (Retry-After %q); want 429 naming the limit",
			perClient+1, resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}

// openStream opens an SSE request and reads its first event when it is
// served; the stream is closed when the test ends.
func openStream(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode == http.StatusOK {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), "data:") {
		}
	}
	return resp
}

// TestFeedToken: with FEED_TOKEN set, the feed answers 401 with a clear
// message to anyone without it (it exposes user and session ids), and a
// microservice given the token through FEED_TOKEN_FILE follows the feed:
// a logout still reaches it.
func TestFeedToken(t *testing.T) {
	const token = "feed-token-of-at-least-thirty-two-bytes"
	serverBin, exampleBin := binaries(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir(), "FEED_TOKEN": token}), "/healthz")

	for _, tt := range []struct{ name, accept, authz string }{
		{"snapshot without token", "application/json", ""},
		{"stream without token", "text/event-stream", ""},
		{"stream with another token", "text/event-stream", "Bearer " + token[:len(token)-1] + "X"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, auth.URL+"/v1/revocations", nil)
			req.Header.Set("Accept", tt.accept)
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %d; want 401", resp.StatusCode)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if !strings.Contains(string(body), "FEED_TOKEN") || strings.Contains(string(body), token) {
				t.Errorf("401 body %q: want it to name FEED_TOKEN and never echo a token", body)
			}
		})
	}

	file := filepath.Join(t.TempDir(), "feed-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL, "FEED_TOKEN_FILE": file}, "/health")
	a := registerAndLogin(t, auth.URL, "feed-token@example.com")
	mustStatus(t, svc.URL+"/api/protected", 200, a.Token)
	var out bool
	gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &out)
	waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second)
}
