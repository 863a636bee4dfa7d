package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/internal/testenv"
)

// linkOf reads the text/plain part of an .eml file and returns the token
// of its link to path.
func linkOf(t *testing.T, file, path string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(part)
	m := pageLinkRE.FindStringSubmatch(string(text))
	if m == nil || m[1] != path {
		t.Fatalf("%s: no %s link in\n%s", file, path, text)
	}
	return m[2]
}

// TestMailedLinksInProcess runs the whole service (its outbox included)
// in the embedded default: register and a reset request are delivered as
// .eml files under DATA_DIR/mail, their links work through the pages, and
// the service's log names the messages but holds none of their tokens.
func TestMailedLinksInProcess(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	cfg, err := server.LoadConfig(env(map[string]string{
		"PORT": "0", "ADMIN_ADDR": "off", "DATA_DIR": dir, "PUBLIC_URL": "http://auth.example.com",
		"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, func(addr string) { ready <- addr }) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	var base string
	select {
	case addr := <-ready:
		_, port, _ := net.SplitHostPort(addr)
		base = "http://127.0.0.1:" + port
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	gql := func(q string) string {
		t.Helper()
		resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(q))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	gql(`{"query":"mutation { register(input: {email: \"eml@example.com\", password: \"Test1234!\"}) { message } }"}`)
	gql(`{"query":"mutation { requestPasswordReset(email: \"eml@example.com\") }"}`)
	gql(`{"query":"mutation { requestPasswordReset(email: \"nobody@example.com\") }"}`)
	var files []string
	testenv.WaitFor(t, "two .eml files in DATA_DIR/mail", func() bool {
		files, _ = filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
		return len(files) >= 2
	})
	tokens := map[string]string{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		switch {
		case bytes.Contains(b, []byte("confirm your email address")):
			tokens["verify-email"] = linkOf(t, f, "verify-email")
		case bytes.Contains(b, []byte("reset your password")):
			tokens["reset-password"] = linkOf(t, f, "reset-password")
		}
	}
	if len(files) != 2 || len(tokens) != 2 {
		t.Fatalf("mail: %d files, links %v; want one verification and one reset message (none for the unknown address)", len(files), tokens)
	}
	for path, form := range map[string]url.Values{
		"verify-email":   {"token": {tokens["verify-email"]}},
		"reset-password": {"token": {tokens["reset-password"]}, "password": {"New-pass-1234"}},
	} {
		resp, err := http.PostForm(base+"/"+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("POST /%s: %d; want 200", path, resp.StatusCode)
		}
	}
	if out := gql(`{"query":"mutation { login(input: {email: \"eml@example.com\", password: \"New-pass-1234\"}) { emailVerified } }"}`); !strings.Contains(out, `"emailVerified":true`) {
		t.Errorf("login: %s; want the new password and a verified address", out)
	}
	log := logs.String()
	if !strings.Contains(log, "mail: written to a file") || !strings.Contains(log, "eml@example.com") {
		t.Fatalf("the log does not name the written messages:\n%s", log)
	}
	for _, tok := range tokens {
		if strings.Contains(log, tok) {
			t.Errorf("token %s… appears in the service's log", tok[:6])
		}
	}
}

// lockedBuffer is a log destination safe for the service's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
