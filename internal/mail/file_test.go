package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authmail "github.com/authmesh/authmesh/internal/mail"
)

// TestDirWritesEML: without SMTP a message becomes an .eml file (owner
// only), the log names recipient, subject and file but never the body,
// and sending the same message again rewrites its one file.
func TestDirWritesEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "mail")
	var log bytes.Buffer
	d, err := authmail.NewDir(dir, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "single-use-token-0123456789"
	env, err := authmail.Compose("no-reply@auth.example", authmail.Message{
		To: "ada@example.com", Subject: "Reset your password",
		Text: "open /reset-password?token=" + secret, HTML: "<a href=\"/reset-password?token=" + secret + "\">reset</a>",
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.Send(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 || !strings.HasSuffix(files[0], ".eml") {
		t.Fatalf("files %q; want one .eml", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !bytes.Equal(b, env.Data) {
		t.Fatalf("file holds %d bytes (%v); want the message's %d", len(b), err, len(env.Data))
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", st.Mode().Perm())
	}
	out := log.String()
	for _, want := range []string{"ada@example.com", "authmesh: Reset your password", files[0]} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, secret) || strings.Contains(out, "reset-password") {
		t.Errorf("log %q shows the body", out)
	}
}
