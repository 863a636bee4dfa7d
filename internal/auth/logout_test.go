package auth_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/revoke"
)

// batchingRevoker is a revoke.BulkRevoker, as the revocation stores are,
// that counts its calls.
type batchingRevoker struct {
	inner   revoke.Revoker
	mu      sync.Mutex
	batches [][]revoke.Entry
	singles int
}

func (b *batchingRevoker) Revoke(ctx context.Context, e revoke.Entry) (revoke.Event, error) {
	b.mu.Lock()
	b.singles++
	b.mu.Unlock()
	return b.inner.Revoke(ctx, e)
}

func (b *batchingRevoker) RevokeMany(ctx context.Context, entries []revoke.Entry) ([]revoke.Event, error) {
	b.mu.Lock()
	b.batches = append(b.batches, entries)
	b.mu.Unlock()
	out := make([]revoke.Event, len(entries))
	for i, e := range entries {
		ev, err := b.inner.Revoke(ctx, e)
		if err != nil {
			return nil, err
		}
		out[i] = ev
	}
	return out, nil
}

var _ revoke.BulkRevoker = (*batchingRevoker)(nil)

// A logout records its token's and its session's revocations in one call
// when the revocation store can (one journal transaction), and still ends
// the session, rejects its tokens and records the audit event.
func TestLogoutRevokesTokenAndSessionTogether(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	br := &batchingRevoker{inner: e.revs}
	cfg := e.cfg
	cfg.Revoker = br
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := e.signup(t, "batch@example.com")
	c := e.caller(t, r.Token)
	if err := svc.Logout(ctx, c); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if br.singles != 0 || len(br.batches) != 1 {
		t.Fatalf("%d single revocations and %d batches; want 0 and 1", br.singles, len(br.batches))
	}
	got := br.batches[0]
	if len(got) != 2 || got[0].Kind != revoke.KindToken || got[0].ID != c.TokenID ||
		got[1].Kind != revoke.KindSession || got[1].ID != c.SessionID {
		t.Errorf("batch %+v; want the token %s, then the session %s", got, c.TokenID, c.SessionID)
	}
	if !e.rejected(t, r.Token) {
		t.Errorf("access token accepted after logout")
	}
	if _, err := svc.Refresh(ctx, r.RefreshToken, e.clients); auth.ErrorCode(err) != auth.CodeUnauthenticated {
		t.Errorf("refresh after logout: %v; want %s", err, auth.CodeUnauthenticated)
	}
	events, err := svc.AuditEvents(ctx, r.UserID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[0].Event != auth.EventLogout || events[0].SessionID != c.SessionID {
		t.Errorf("newest audit events %+v; want the logout of session %s first", events, c.SessionID)
	}
}
