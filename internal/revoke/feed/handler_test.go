package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
)

var feedTestLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// feedTestServer is a real HTTP server on loopback serving a feed, with
// the shutdown wiring the auth service uses (BaseContext cancelled first).
type feedTestServer struct {
	*httptest.Server
	handler *Handler
	stop    context.CancelFunc
}

// startFeedServer serves src on addr ("" for any free port) until the test
// ends or Close is called.
func startFeedServer(t testing.TB, src revoke.Source, cfg Config, addr string) *feedTestServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = feedTestLogger
	}
	h, err := NewHandler(src, cfg)
	if err != nil {
		t.Fatalf("NewFeedHandler: %v", err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	deadline := time.Now().Add(5 * time.Second)
	for ln, err = net.Listen("tcp", addr); err != nil; ln, err = net.Listen("tcp", addr) {
		if time.Now().After(deadline) { // the old server's port may linger briefly
			t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	base, stop := context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET "+feedwire.Path, h)
	mux.Handle(feedwire.Path, h) // other methods reach the handler's 405
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Config.ErrorLog = nil
	srv.Start()
	s := &feedTestServer{Server: srv, handler: h, stop: stop}
	t.Cleanup(s.Close)
	return s
}

// Close ends every stream and stops the server, as a shutdown would.
func (s *feedTestServer) Close() {
	s.stop()
	s.Server.Close()
}

func (s *feedTestServer) feedURL() string { return s.URL + feedwire.Path }

// feedTestStream is a raw SSE reader over one feed request.
type feedTestStream struct {
	resp *http.Response
	dec  *feedwire.Reader
}

// openFeedStream opens an SSE request with the given headers.
func openFeedStream(t testing.TB, url string, header map[string]string) *feedTestStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", feedwire.ContentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %s; want 200", url, resp.Status)
	}
	return &feedTestStream{resp: resp, dec: feedwire.NewReader(resp.Body, 1<<20)}
}

// next reads and decodes the next feed event.
func (s *feedTestStream) next(t testing.TB) feedwire.Message {
	t.Helper()
	type result struct {
		m   feedwire.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := s.dec.Next()
		if err != nil {
			ch <- result{err: err}
			return
		}
		m, err := feedwire.Decode(ev)
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading feed: %v", r.err)
		}
		return r.m
	case <-time.After(10 * time.Second):
		t.Fatal("timed out reading the feed")
		return feedwire.Message{}
	}
}

func revokeN(t testing.TB, r revoke.Revoker, from, n int) []revoke.Event {
	t.Helper()
	var out []revoke.Event
	for i := from; i < from+n; i++ {
		ev, err := r.Revoke(context.Background(), revoketest.TokenEntry(i))
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

func TestFeedSnapshotJSON(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{}, "")
	get := func() (*http.Response, revoke.Snapshot) {
		t.Helper()
		resp, err := http.Get(srv.feedURL())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var snap revoke.Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
			t.Fatalf("decode snapshot: %v", err)
		}
		return resp, snap
	}
	_, snap := get()
	if snap.Cursor != "0" || snap.Entries == nil || len(snap.Entries) != 0 {
		t.Errorf("empty snapshot: got %+v; want cursor 0 and entries []", snap)
	}
	revokeN(t, store, 1, 3)
	resp, snap := get()
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q; want %q", k, got, want)
		}
	}
	if snap.Cursor != "3" || len(snap.Entries) != 3 || snap.Entries[2].ID != "jti-3" {
		t.Errorf("snapshot: got %+v; want cursor 3 and jti-1..3", snap)
	}
}

// TestFeedRequiresItsToken: with a Token, every request without exactly it
// gets a 401 that says what to send, before method or Accept are looked at.
func TestFeedRequiresItsToken(t *testing.T) {
	const token = "feed-token-of-thirty-two-bytes-0123"
	srv := startFeedServer(t, newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{}), Config{Token: token}, "")
	tests := []struct {
		name, method, auth string
		want               int
	}{
		{"no credential", http.MethodGet, "", http.StatusUnauthorized},
		{"wrong token", http.MethodGet, "Bearer not-the-token", http.StatusUnauthorized},
		{"token as a prefix", http.MethodGet, "Bearer " + token + "x", http.StatusUnauthorized},
		{"prefix of the token", http.MethodGet, "Bearer " + token[:10], http.StatusUnauthorized},
		{"basic scheme", http.MethodGet, "Basic " + token, http.StatusUnauthorized},
		{"POST without token", http.MethodPost, "", http.StatusUnauthorized},
		{"the token", http.MethodGet, "Bearer " + token, http.StatusOK},
		{"the token, lower-case scheme", http.MethodGet, "bearer " + token, http.StatusOK},
		{"POST with the token", http.MethodPost, "Bearer " + token, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.feedURL(), nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d %s; want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == http.StatusUnauthorized &&
				(!strings.Contains(string(body), "FEED_TOKEN") || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer")) {
				t.Errorf("401 body %q, WWW-Authenticate %q; want both to say what to send", body, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestFeedTokenIsABearerToken: a token no Authorization header could carry
// by the bearer rule is refused at construction, not with 401 forever.
func TestFeedTokenIsABearerToken(t *testing.T) {
	src := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	for _, tok := range []string{"two words", "t\u00e9", "$ecret!"} {
		if _, err := NewHandler(src, Config{Token: tok, Logger: feedTestLogger}); !errors.Is(err, ErrTokenCharset) {
			t.Errorf("Token %q: got %v; want ErrTokenCharset", tok, err)
		}
	}
}

func TestFeedRejectsOtherMethods(t *testing.T) {
	srv := startFeedServer(t, newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{}), Config{}, "")
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, srv.feedURL(), strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
			t.Errorf("%s: got %s, Allow %q; want 405, Allow GET", m, resp.Status, resp.Header.Get("Allow"))
		}
	}
}

func TestFeedStreamSnapshotThenLiveEvents(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	revokeN(t, store, 1, 2)
	srv := startFeedServer(t, store, Config{Heartbeat: time.Hour}, "")
	s := openFeedStream(t, srv.feedURL(), nil)
	for k, want := range map[string]string{"Content-Type": feedwire.ContentType, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := s.resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q; want %q", k, got, want)
		}
	}
	m := s.next(t)
	if describe(m) != "snapshot:2" || len(m.Snapshot.Entries) != 2 {
		t.Fatalf("first event: got %s with %v; want snapshot:2 with 2 entries", describe(m), m.Snapshot)
	}
	live := revokeN(t, store, 3, 2)
	for _, want := range live {
		m := s.next(t)
		if describe(m) != "revocation:"+want.Cursor || m.Event.Entry != want.Entry {
			t.Errorf("live event: got %s %+v; want revocation:%s %+v", describe(m), m.Event.Entry, want.Cursor, want.Entry)
		}
	}
}

func TestFeedStreamResumesWithExactlyTheMissedEvents(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	revokeN(t, store, 1, 5)
	srv := startFeedServer(t, store, Config{Heartbeat: time.Hour}, "")
	tests := []struct {
		name   string
		url    string
		header map[string]string
	}{
		{"Last-Event-ID", srv.feedURL(), map[string]string{"Last-Event-ID": "2"}},
		{"query", srv.feedURL() + "?cursor=2", nil},
		{"header wins", srv.feedURL() + "?cursor=4", map[string]string{"Last-Event-ID": "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openFeedStream(t, tc.url, tc.header)
			var got []string
			for i := 0; i < 4; i++ {
				got = append(got, describe(s.next(t)))
			}
			want := "[revocation:3 revocation:4 revocation:5 sync:5]"
			if fmt.Sprint(got) != want {
				t.Errorf("resumed stream: got %v; want %s", got, want)
			}
		})
	}
}

func TestFeedStreamSendsSnapshotForBadCursor(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	revokeN(t, store, 1, 2)
	srv := startFeedServer(t, store, Config{}, "")
	for _, c := range []string{"garbage", "-1", "999", "1-0", strings.Repeat("9", 5000)} {
		t.Run(fmt.Sprintf("%.10s", c), func(t *testing.T) {
			s := openFeedStream(t, srv.feedURL(), map[string]string{"Last-Event-ID": c})
			if m := s.next(t); describe(m) != "snapshot:2" {
				t.Errorf("first event: got %s; want snapshot:2", describe(m))
			}
		})
	}
}

func TestFeedStreamHeartbeats(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	revokeN(t, store, 1, 1)
	srv := startFeedServer(t, store, Config{Heartbeat: 10 * time.Millisecond}, "")
	s := openFeedStream(t, srv.feedURL(), nil)
	s.next(t) // snapshot
	for i := 0; i < 3; i++ {
		if m := s.next(t); describe(m) != "sync:1" {
			t.Errorf("heartbeat %d: got %s; want sync:1", i, describe(m))
		}
	}
}

func TestFeedLimitsClients(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{MaxStreams: 2}, "")
	openFeedStream(t, srv.feedURL(), nil).next(t)
	openFeedStream(t, srv.feedURL(), nil).next(t)
	req, _ := http.NewRequest(http.MethodGet, srv.feedURL(), nil)
	req.Header.Set("Accept", feedwire.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third client: got %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if got := srv.handler.Clients(); got != 2 {
		t.Errorf("Clients: got %d; want 2", got)
	}
}

func TestFeedAnswers503WhenSourceFails(t *testing.T) {
	j := &revoketest.MemJournal{}
	store := newTestJournalStore(t, j, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{}, "")
	j.SetFail(errors.New("database is locked"))
	for _, accept := range []string{"application/json", feedwire.ContentType} {
		req, _ := http.NewRequest(http.MethodGet, srv.feedURL(), nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Last-Event-ID", "0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: got %s, Retry-After %q; want 503 with Retry-After", accept, resp.Status, resp.Header.Get("Retry-After"))
		}
		if strings.Contains(string(body), "locked") {
			t.Errorf("%s: body %q leaks the internal error", accept, body)
		}
	}
}

func TestFeedStreamEndsAtShutdown(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{Heartbeat: time.Hour}, "")
	s := openFeedStream(t, srv.feedURL(), nil)
	s.next(t)
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("server Close hung on an open stream")
	}
	if _, err := s.dec.Next(); err == nil {
		t.Error("stream still delivering after shutdown")
	}
	if got := srv.handler.Clients(); got != 0 {
		t.Errorf("Clients after shutdown: got %d; want 0", got)
	}
}

func TestAcceptsEventStream(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"*/*"}, false},
		{[]string{"text/event-stream"}, true},
		{[]string{"application/json, text/event-stream;q=0.9"}, true},
		{[]string{"text/html", "Text/Event-Stream"}, true},
		{[]string{"text/event-streamx"}, false},
	}
	for _, tc := range tests {
		if got := acceptsEventStream(tc.accept); got != tc.want {
			t.Errorf("acceptsEventStream(%q): got %v; want %v", tc.accept, got, tc.want)
		}
	}
}
