package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// TestConsumeChangeEmail: a change_email token carries its new address;
// issuing it queues its letters with it, and consuming it moves the
// account there, verified, and frees the old address.
func TestConsumeChangeEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "old@example.com")
		change, raw := newToken(u.ID, auth.PurposeChangeEmail, time.Hour)
		change.NewEmail = "new@example.com"
		if err := db.IssueAccountToken(ctx, change, accountMail("new@example.com", "link"), accountMail("old@example.com", "notice")); err != nil {
			t.Fatal(err)
		}
		if got := outbox(t, db); !slices.Equal(got, []string{"new@example.com", "old@example.com"}) {
			t.Fatalf("outbox: %q; want the link to the new address and the notice to the old", got)
		}
		stored, err := db.AccountTokenByHash(ctx, auth.HashAccountToken(raw))
		if err != nil || stored.NewEmail != "new@example.com" || stored.Purpose != auth.PurposeChangeEmail {
			t.Fatalf("token: %+v, %v; want change_email to new@example.com", stored, err)
		}
		if got, _ := db.UserByID(ctx, u.ID); got.Email != "old@example.com" {
			t.Fatalf("before consumption: email %q; want unchanged", got.Email)
		}
		if err := db.ConsumeAccountToken(ctx, stored.ID, t0.Add(time.Minute), auth.AccountChange{Email: stored.NewEmail}); err != nil {
			t.Fatal(err)
		}
		got, err := db.UserByID(ctx, u.ID)
		if err != nil || got.Email != "new@example.com" || !got.EmailVerified() {
			t.Fatalf("after consumption: %+v, %v; want new@example.com, verified", got, err)
		}
		if byEmail, err := db.UserByEmail(ctx, "new@example.com"); err != nil || byEmail.ID != u.ID {
			t.Errorf("UserByEmail(new): %+v, %v", byEmail, err)
		}
		mustCreateUser(t, db, "old@example.com") // the old address is free again
	})
}
