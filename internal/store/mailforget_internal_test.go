package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/mail"
	"github.com/authmesh/authmesh/internal/testenv"
)

// TestMailContentIsForgotten: a message's content, which may hold a
// single-use link, is emptied once it is sent and once it is given up;
// only the envelope (recipient, subject, outcome) stays for operators.
func TestMailContentIsForgotten(t *testing.T) {
	for name, dsn := range map[string]func() string{
		"sqlite":   func() string { return "sqlite:" + filepath.Join(t.TempDir(), "auth.db") },
		"postgres": func() string { return testenv.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, dsn(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			now := time.Now()
			for i, mark := range []func(id int64) error{
				func(id int64) error { return db.MarkMailSent(ctx, id, now) },
				func(id int64) error { return db.MarkMailFailed(ctx, id, now, "550 no such user") },
			} {
				env, err := mail.Compose("no-reply@auth.example", mail.Message{To: "a@example.com", Subject: "s", Text: "https://auth.example/reset-password?token=secret", HTML: "<p>h</p>"}, now)
				if err != nil {
					t.Fatal(err)
				}
				if err := db.EnqueueMail(ctx, env, now); err != nil {
					t.Fatal(err)
				}
				q, err := db.ClaimMail(ctx, now, time.Minute, 10)
				if err != nil || len(q) != 1 {
					t.Fatalf("claim: %d, %v", len(q), err)
				}
				if err := mark(q[0].OutboxID); err != nil {
					t.Fatal(err)
				}
				var data []byte
				var to string
				if err := db.queryRow(ctx, "SELECT data, recipient FROM mail_outbox WHERE id = ?", q[0].OutboxID).Scan(&data, &to); err != nil {
					t.Fatal(err)
				}
				if len(data) != 0 || to != "a@example.com" {
					t.Errorf("outcome %d: data %d bytes, recipient %q; want the content gone and the envelope kept", i, len(data), to)
				}
			}
		})
	}
}
