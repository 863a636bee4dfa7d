package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/store"
)

// accountMail is a message carrying a (fake) link, as the service composes.
func accountMail(to, id string) auth.Mail {
	return auth.Mail{ID: id + "@auth.example", From: "no-reply@auth.example", To: to, Subject: "authmesh: confirm your email address", Data: []byte("link " + id)}
}

func newToken(userID string, p auth.TokenPurpose, ttl time.Duration) (auth.AccountToken, string) {
	raw, hash := auth.NewAccountToken()
	return auth.AccountToken{UserID: userID, Purpose: p, Hash: hash, CreatedAt: t0, ExpiresAt: t0.Add(ttl)}, raw
}

// outbox returns the recipients of the pending messages.
func outbox(t *testing.T, db *store.DB) []string {
	t.Helper()
	q, err := db.ClaimMail(context.Background(), t0.Add(time.Hour), 24*time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range q {
		to = append(to, m.Envelope.To)
	}
	return to
}

// TestCreateUserWithToken: the account, its token and its mail commit
// together; a taken address writes none of them.
func TestCreateUserWithToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		tok, raw := newToken("", auth.PurposeVerifyEmail, time.Hour)
		u, err := db.CreateUserWithToken(ctx, "a@example.com", "hash", t0, tok, accountMail("a@example.com", "m1"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.AccountTokenByHash(ctx, auth.HashAccountToken(raw))
		if err != nil || got.UserID != u.ID || got.Purpose != auth.PurposeVerifyEmail || !got.UsedAt.IsZero() {
			t.Fatalf("token: got %+v, %v; want an unspent verify_email token of %s", got, err, u.ID)
		}
		sameTime(t, "ExpiresAt", got.ExpiresAt, t0.Add(time.Hour))
		tok2, raw2 := newToken("", auth.PurposeVerifyEmail, time.Hour)
		if _, err := db.CreateUserWithToken(ctx, "a@example.com", "hash", t0, tok2, accountMail("a@example.com", "m2")); !errors.Is(err, store.ErrEmailTaken) {
			t.Fatalf("taken address: got %v; want ErrEmailTaken", err)
		}
		if _, err := db.AccountTokenByHash(ctx, auth.HashAccountToken(raw2)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token of the refused registration: got %v; want ErrNotFound", err)
		}
		if to := outbox(t, db); len(to) != 1 {
			t.Errorf("outbox: got %v; want the one message of the registration that happened", to)
		}
	})
}

// TestAccountTokenLifecycle: a newer token supersedes older ones of its
// purpose only; consuming is single use and refuses expired tokens; a
// password change spends every token; the change and its mail commit with
// the consumption.
func TestAccountTokenLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "b@example.com")
		first, _ := newToken(u.ID, auth.PurposeVerifyEmail, time.Hour)
		reset, _ := newToken(u.ID, auth.PurposeResetPassword, time.Hour)
		second, _ := newToken(u.ID, auth.PurposeVerifyEmail, time.Hour)
		for _, tk := range []auth.AccountToken{first, reset, second} {
			if err := db.IssueAccountToken(ctx, tk, accountMail(u.Email, tk.Hash[:8])); err != nil {
				t.Fatal(err)
			}
		}
		state := func(tk auth.AccountToken) auth.AccountToken {
			t.Helper()
			got, err := db.AccountTokenByHash(ctx, tk.Hash)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if state(first).UsedAt.IsZero() || !state(second).UsedAt.IsZero() || !state(reset).UsedAt.IsZero() {
			t.Fatalf("after a second verify_email token: the first must be spent, the second and the reset token not")
		}
		if err := db.ConsumeAccountToken(ctx, state(first).ID, t0, auth.AccountChange{VerifyEmail: true}); !errors.Is(err, auth.ErrTokenSpent) {
			t.Errorf("consume superseded: got %v; want ErrTokenSpent", err)
		}
		if err := db.ConsumeAccountToken(ctx, state(second).ID, t0.Add(time.Hour), auth.AccountChange{VerifyEmail: true}); !errors.Is(err, auth.ErrTokenSpent) {
			t.Errorf("consume at expiry: got %v; want ErrTokenSpent", err)
		}
		if err := db.ConsumeAccountToken(ctx, state(second).ID, t0.Add(time.Minute), auth.AccountChange{VerifyEmail: true}, accountMail(u.Email, "notice")); err != nil {
			t.Fatalf("consume: %v", err)
		}
		if err := db.ConsumeAccountToken(ctx, state(second).ID, t0.Add(time.Minute), auth.AccountChange{VerifyEmail: true}); !errors.Is(err, auth.ErrTokenSpent) {
			t.Errorf("consume again: got %v; want ErrTokenSpent", err)
		}
		got, err := db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "EmailVerifiedAt", got.EmailVerifiedAt, t0.Add(time.Minute))
		if err := db.SpendAccountTokens(ctx, u.ID, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if state(reset).UsedAt.IsZero() {
			t.Errorf("a password change must spend the pending reset token")
		}
		if to := outbox(t, db); len(to) != 4 {
			t.Errorf("outbox: got %d messages; want 4 (three issued, one notice)", len(to))
		}
		other, _ := newToken("no-such-user", auth.PurposeResetPassword, time.Hour)
		if err := db.IssueAccountToken(ctx, other, accountMail("x@example.com", "x")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token of an unknown user: got %v; want ErrNotFound", err)
		}
		if to := outbox(t, db); len(to) != 0 {
			t.Errorf("outbox after the refused issue: got %v; want nothing", to)
		}
	})
}

// TestConsumeChanges: a reset sets the password and spends the user's other
// tokens; an email change refuses an address another account holds and
// leaves its token unspent; a pending registration replaces an unverified
// holder, never a verified one.
func TestConsumeChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "c@example.com")
		mustCreateUser(t, db, "taken@example.com")
		reset, _ := newToken(u.ID, auth.PurposeResetPassword, time.Hour)
		verify, _ := newToken(u.ID, auth.PurposeVerifyEmail, time.Hour)
		change, _ := newToken(u.ID, auth.PurposeChangeEmail, time.Hour)
		change.NewEmail = "taken@example.com"
		for _, tk := range []auth.AccountToken{reset, verify, change} {
			if err := db.IssueAccountToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		byHash := func(h string) auth.AccountToken {
			got, err := db.AccountTokenByHash(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if err := db.ConsumeAccountToken(ctx, byHash(change.Hash).ID, t0, auth.AccountChange{Email: change.NewEmail}); !errors.Is(err, store.ErrEmailTaken) {
			t.Fatalf("change to a taken address: got %v; want ErrEmailTaken", err)
		}
		if !byHash(change.Hash).UsedAt.IsZero() {
			t.Errorf("a refused change must leave its token unspent (the transaction rolled back)")
		}
		if err := db.ConsumeAccountToken(ctx, byHash(reset.Hash).ID, t0, auth.AccountChange{PasswordHash: "new-hash"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.UserByID(ctx, u.ID); got.PasswordHash != "new-hash" {
			t.Errorf("password hash: got %q; want new-hash", got.PasswordHash)
		}
		if byHash(verify.Hash).UsedAt.IsZero() || byHash(change.Hash).UsedAt.IsZero() {
			t.Errorf("a reset must spend the user's other tokens")
		}

		// A pending registration on an unverified holder.
		holder := mustCreateUser(t, db, "held@example.com")
		reg, _ := newToken(holder.ID, auth.PurposeRegister, time.Hour)
		reg.NewEmail, reg.PasswordHash = "held@example.com", "registrant-hash"
		if err := db.IssueAccountToken(ctx, reg); err != nil {
			t.Fatal(err)
		}
		newUser := auth.User{ID: "11111111-2222-3333-4444-555555555555", Email: "held@example.com", PasswordHash: "registrant-hash", CreatedAt: t0}
		if err := db.ConsumeAccountToken(ctx, byHash(reg.Hash).ID, t0, auth.AccountChange{Replace: &newUser}); err != nil {
			t.Fatal(err)
		}
		got, err := db.UserByEmail(ctx, "held@example.com")
		if err != nil || got.ID != newUser.ID || !got.EmailVerified() || got.PasswordHash != "registrant-hash" {
			t.Fatalf("after the pending registration: got %+v, %v; want the registrant's verified account", got, err)
		}
		if _, err := db.UserByID(ctx, holder.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unverified holder: got %v; want it deleted", err)
		}
		// A verified holder is never replaced.
		reg2, _ := newToken(newUser.ID, auth.PurposeRegister, time.Hour)
		reg2.NewEmail, reg2.PasswordHash = "held@example.com", "squatter-hash"
		if err := db.IssueAccountToken(ctx, reg2); err != nil {
			t.Fatal(err)
		}
		other := auth.User{ID: "66666666-2222-3333-4444-555555555555", Email: "held@example.com", PasswordHash: "squatter-hash", CreatedAt: t0}
		if err := db.ConsumeAccountToken(ctx, byHash(reg2.Hash).ID, t0, auth.AccountChange{Replace: &other}); !errors.Is(err, store.ErrEmailTaken) {
			t.Fatalf("replacing a verified holder: got %v; want ErrEmailTaken", err)
		}
	})
}

// TestConsumeOnce: of concurrent consumers of one token exactly one wins.
func TestConsumeOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "d@example.com")
		tk, _ := newToken(u.ID, auth.PurposeResetPassword, time.Hour)
		if err := db.IssueAccountToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		got, err := db.AccountTokenByHash(ctx, tk.Hash)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				errs <- db.ConsumeAccountToken(ctx, got.ID, t0, auth.AccountChange{PasswordHash: "h"}, accountMail(u.Email, "n"+time.Now().String()))
			})
		}
		wg.Wait()
		close(errs)
		wins := 0
		for err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, auth.ErrTokenSpent):
				t.Errorf("loser: got %v; want ErrTokenSpent", err)
			}
		}
		if wins != 1 {
			t.Errorf("winners: got %d; want 1", wins)
		}
	})
}

// TestPruneAccountTokens: tokens expired before the cut-off go, spent or
// not; the others stay.
func TestPruneAccountTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "e@example.com")
		old, _ := newToken(u.ID, auth.PurposeVerifyEmail, time.Hour)
		live, _ := newToken(u.ID, auth.PurposeResetPassword, 48*time.Hour)
		for _, tk := range []auth.AccountToken{old, live} {
			if err := db.IssueAccountToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.PruneAccountTokens(ctx, t0.Add(24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("prune: %d, %v; want 1", n, err)
		}
		if _, err := db.AccountTokenByHash(ctx, old.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired token: got %v; want it pruned", err)
		}
		if _, err := db.AccountTokenByHash(ctx, live.Hash); err != nil {
			t.Errorf("live token: %v; want it kept", err)
		}
	})
}
