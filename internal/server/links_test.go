package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/internal/store"
)

// linkServer is a real service on SQLite whose log is kept, with a second
// handle on its database to read the outbox as the sender would.
type linkServer struct {
	h     http.Handler
	db    *store.DB
	logMu sync.Mutex
	log   bytes.Buffer
}

func (s *linkServer) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.Write(p)
}

func newLinkServer(t *testing.T, vars map[string]string) *linkServer {
	t.Helper()
	dir := t.TempDir()
	vars["DATA_DIR"], vars["ARGON2_MEMORY_KIB"], vars["ARGON2_ITERATIONS"] = dir, "1024", "1"
	vars["PUBLIC_URL"] = "http://auth.example.com"
	cfg, err := server.LoadConfig(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	ls := &linkServer{}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(ls, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ls.h = srv.Handler()
	ls.db, err = store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "authmesh.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.db.Close() })
	return ls
}

func (s *linkServer) graphql(t *testing.T, query string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://auth.example.com/graphql", strings.NewReader(query))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w.Body.String()
}

var pageLinkRE = regexp.MustCompile(`http://auth\.example\.com/(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)`)

// token returns the token of the one message queued since the last call,
// read from its text/plain part as a recipient would.
func (s *linkServer) token(t *testing.T, path string) string {
	t.Helper()
	q, err := s.db.ClaimMail(context.Background(), time.Now().Add(time.Hour), 1000*time.Hour, 100)
	if err != nil || len(q) != 1 {
		t.Fatalf("outbox: %d messages, %v; want 1", len(q), err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(q[0].Envelope.Data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(part) // quoted-printable, decoded by the reader
	m := pageLinkRE.FindStringSubmatch(string(text))
	if m == nil || m[1] != path {
		t.Fatalf("no %s link in:\n%s", path, text)
	}
	return m[2]
}

// page requests a link page; form is the POST body (nil: GET ?token=tok).
func (s *linkServer) page(t *testing.T, path, tok string, form url.Values, origin string) (int, string) {
	t.Helper()
	var r *http.Request
	if form == nil {
		r = httptest.NewRequest(http.MethodGet, "http://auth.example.com"+path+"?token="+url.QueryEscape(tok), nil)
	} else {
		r = httptest.NewRequest(http.MethodPost, "http://auth.example.com"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	if w.Code < 500 {
		for k, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store"} {
			if !strings.Contains(w.Header().Get(k), want) {
				t.Errorf("%s %s: %s %q; want %q", r.Method, path, k, w.Header().Get(k), want)
			}
		}
	}
	return w.Code, w.Body.String()
}

// TestLinkPages: a link's GET shows a form and spends nothing; its POST
// spends the token once; expired, reused, tampered and superseded tokens
// and cross-site posts are refused with a clear message; a weak password
// shows the form again; no token reaches the log.
func TestLinkPages(t *testing.T) {
	s := newLinkServer(t, map[string]string{})
	s.graphql(t, `{"query":"mutation { register(input: {email: \"p@example.com\", password: \"Test1234!\"}) { message } }"}`)
	verify := s.token(t, "verify-email")
	reset := func() string {
		t.Helper()
		if out := s.graphql(t, `{"query":"mutation { requestPasswordReset(email: \"p@example.com\") }"}`); !strings.Contains(out, `"requestPasswordReset":true`) {
			t.Fatalf("requestPasswordReset: %s", out)
		}
		return s.token(t, "reset-password")
	}
	superseded := reset()
	current := reset()
	tampered := []byte(verify)
	tampered[3] ^= 1
	form := func(tok string, pw ...string) url.Values {
		v := url.Values{"token": {tok}}
		if len(pw) > 0 {
			v.Set("password", pw[0])
		}
		return v
	}
	for _, tc := range []struct {
		name, path, tok string
		form            url.Values
		origin          string
		code            int
		want            string
	}{
		{"GET shows the form", "/verify-email", verify, nil, "", 200, `name="token" value="` + verify + `"`},
		{"GET again: not spent", "/verify-email", verify, nil, "", 200, "Confirm my email address"},
		{"GET without token", "/verify-email", "", nil, "", 400, "incomplete"},
		{"GET tampered", "/verify-email", string(tampered), nil, "", 400, "Request a new one"},
		{"POST from another site", "/verify-email", "", form(verify), "https://evil.example", 403, "cross-site"},
		{"POST confirms", "/verify-email", "", form(verify), "http://auth.example.com", 200, "is confirmed"},
		{"POST reused", "/verify-email", "", form(verify), "", 400, "already used"},
		{"GET a reset link on the verify page", "/verify-email", current, nil, "", 400, "not valid"},
		{"GET reset superseded", "/reset-password", superseded, nil, "", 400, "newer one"},
		{"GET reset", "/reset-password", current, nil, "", 200, `type="password"`},
		{"POST reset, weak password", "/reset-password", "", form(current, "short"), "", 400, `value="` + current + `"`},
		{"POST reset", "/reset-password", "", form(current, "New-pass-1234"), "", 200, "password was changed"},
		{"POST reset reused", "/reset-password", "", form(current, "Other-pass-1234"), "", 400, "already used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.page(t, tc.path, tc.tok, tc.form, tc.origin)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("got %d\n%s\nwant %d with %q", code, body, tc.code, tc.want)
			}
		})
	}
	out := s.graphql(t, `{"query":"mutation { login(input: {email: \"p@example.com\", password: \"New-pass-1234\"}) { emailVerified } }"}`)
	if !strings.Contains(out, `"emailVerified":true`) {
		t.Errorf("login after the pages: %s; want a verified account with the new password", out)
	}

	// Expired links.
	e := newLinkServer(t, map[string]string{"EMAIL_VERIFICATION_TTL": "1ns"})
	e.graphql(t, `{"query":"mutation { register(input: {email: \"x@example.com\", password: \"Test1234!\"}) { message } }"}`)
	expired := e.token(t, "verify-email")
	if code, body := e.page(t, "/verify-email", "", form(expired), ""); code != 400 || !strings.Contains(body, "expired") {
		t.Errorf("POST expired: %d\n%s", code, body)
	}

	s.logMu.Lock()
	defer s.logMu.Unlock()
	for _, tok := range []string{verify, superseded, current} {
		if strings.Contains(s.log.String(), tok) {
			t.Errorf("token %s… appears in the service's log", tok[:6])
		}
	}
	if !strings.Contains(s.log.String(), "password reset") {
		t.Errorf("the log lacks the flows' lines:\n%s", s.log.String())
	}
}
