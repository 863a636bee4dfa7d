package revoke_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

func TestEntryValidateBeforeKinds(t *testing.T) {
	exp := future()
	tests := []struct {
		name string
		e    revoke.Entry
		err  error // nil: valid
	}{
		{"all", revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: 100, Expires: exp}, nil},
		{"all without before", revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Expires: exp}, revoke.ErrInvalidEntry},
		{"all with another id", revoke.Entry{Kind: revoke.KindAll, ID: "u1", Before: 100, Expires: exp}, revoke.ErrInvalidEntry},
		{"all without expiry", revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: 100}, revoke.ErrInvalidEntry},
		{"user (the per-user form)", revoke.Entry{Kind: revoke.KindUser, ID: "u1", Before: 100, Expires: exp}, nil},
		{"user without before", revoke.Entry{Kind: revoke.KindUser, ID: "u1", Expires: exp}, revoke.ErrInvalidEntry},
		{"before on a session", revoke.Entry{Kind: revoke.KindSession, ID: "s1", Before: 100, Expires: exp}, revoke.ErrInvalidEntry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("Validate(%+v) = %v; want %v", tt.e, err, tt.err)
			}
			if errors.Is(err, revoke.ErrUnsupported) {
				t.Errorf("Validate(%+v) = %v; a malformed entry of a known kind is not unsupported", tt.e, err)
			}
		})
	}
}

// One "all" entry revokes every token issued before its cut-off, whatever
// it names, and nothing issued at or after it; a later entry raises the
// cut-off, an earlier one changes nothing, and Prune forgets it once it
// expires.
func TestSetRevokesEverythingIssuedBefore(t *testing.T) {
	now := time.Now()
	set := revoke.NewSet()
	for _, e := range []revoke.Entry{
		{Kind: revoke.KindAll, ID: revoke.AllID, Before: 100, Expires: now.Add(time.Hour).Unix()},
		{Kind: revoke.KindAll, ID: revoke.AllID, Before: 50, Expires: now.Add(time.Minute).Unix()}, // older cut: no effect
	} {
		if !set.Apply(e) {
			t.Fatalf("Apply(%+v) = false", e)
		}
	}
	tests := []struct {
		name string
		tok  revoke.Token
		want bool
	}{
		{"issued before", revoke.Token{ID: "j", SessionID: "s", Subject: "u", KeyID: "k", IssuedAt: 99}, true},
		{"issued long before, no ids", revoke.Token{IssuedAt: 1}, true},
		{"issued at the cut-off", revoke.Token{ID: "j", SessionID: "s", Subject: "u", IssuedAt: 100}, false},
		{"issued after", revoke.Token{ID: "j", SessionID: "s", Subject: "u", IssuedAt: 101}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, ok := set.CheckToken(tt.tok)
			if ok != tt.want || (ok && kind != revoke.KindAll) {
				t.Errorf("CheckToken(%+v) = %q, %v; want all, %v", tt.tok, kind, ok, tt.want)
			}
		})
	}
	if n := set.Len(); n != 1 {
		t.Errorf("Len = %d; want 1 (entries merge)", n)
	}
	if n, _ := set.Unsupported(); n != 0 {
		t.Errorf("Unsupported = %d; want 0 (this version knows the kind)", n)
	}

	later := revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: 200, Expires: now.Add(time.Hour).Unix()}
	if n := set.ApplyAll([]revoke.Entry{later}); n != 1 {
		t.Fatalf("ApplyAll(later cut) = %d; want 1", n)
	}
	if _, ok := set.CheckToken(revoke.Token{IssuedAt: 150}); !ok {
		t.Error("a later cut-off did not raise the set's")
	}

	if n := set.Prune(now.Add(30 * time.Minute)); n != 0 {
		t.Errorf("Prune before expiry removed %d; want 0", n)
	}
	if n := set.Prune(now.Add(2 * time.Hour)); n != 1 {
		t.Errorf("Prune after expiry removed %d; want 1", n)
	}
	if _, ok := set.CheckToken(revoke.Token{IssuedAt: -1}); ok || set.Len() != 0 {
		t.Errorf("after expiry: revoked %v, Len %d; want nothing", ok, set.Len())
	}
}

// The per-user form is KindUser with Before: it revokes one user's tokens
// issued before the cut-off, and no one else's.
func TestSetRevokesOneUsersTokensIssuedBefore(t *testing.T) {
	set := revoke.NewSet()
	set.Apply(revoke.Entry{Kind: revoke.KindUser, ID: "u1", Before: 100, Expires: future()})
	for _, tt := range []struct {
		sub  string
		iat  int64
		want bool
	}{{"u1", 99, true}, {"u1", 100, false}, {"u2", 99, false}} {
		if _, ok := set.CheckToken(revoke.Token{Subject: tt.sub, IssuedAt: tt.iat}); ok != tt.want {
			t.Errorf("CheckToken(sub %s, iat %d) = %v; want %v", tt.sub, tt.iat, ok, tt.want)
		}
	}
}
