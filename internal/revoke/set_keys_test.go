package revoke_test

import (
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// TestSetCheckKeys checks that a token hashed once by KeysOf is judged by
// CheckKeys as CheckToken judges it, before and after the entries that
// revoke it are applied and pruned: the keys stay valid for the set's life.
func TestSetCheckKeys(t *testing.T) {
	set := revoke.NewSet()
	exp := future()
	tokens := []revoke.Token{
		{ID: "j1", SessionID: "s9", Subject: "u9", KeyID: "k9", IssuedAt: 200},
		{ID: "j9", SessionID: "s1", Subject: "u9", IssuedAt: 200},
		{ID: "j9", SessionID: "s9", Subject: "u1", IssuedAt: 99},
		{ID: "j9", SessionID: "s9", Subject: "u1", IssuedAt: 100},
		{ID: "j9", SessionID: "s9", Subject: "u9", KeyID: "k1", IssuedAt: 200},
		{ID: "j9", SessionID: "s9", Subject: "u9", IssuedAt: 10},
		{ID: "s1", SessionID: "u1", Subject: "j1", KeyID: "", IssuedAt: 200}, // ids do not cross kinds
		{},
	}
	keys := make([]revoke.TokenKeys, len(tokens))
	for i, tok := range tokens {
		keys[i] = set.KeysOf(tok)
	}
	compare := func(stage string) {
		t.Helper()
		for i, tok := range tokens {
			wantKind, want := set.CheckToken(tok)
			if kind, ok := set.CheckKeys(&keys[i]); kind != wantKind || ok != want {
				t.Errorf("%s: CheckKeys(%+v) = %q, %v; CheckToken says %q, %v", stage, tok, kind, ok, wantKind, want)
			}
		}
	}
	compare("empty set")
	for _, e := range []revoke.Entry{
		{Kind: revoke.KindToken, ID: "j1", Expires: exp},
		{Kind: revoke.KindSession, ID: "s1", Expires: exp},
		{Kind: revoke.KindUser, ID: "u1", Before: 100, Expires: exp},
		{Kind: revoke.KindKey, ID: "k1", Expires: exp},
	} {
		set.Apply(e)
	}
	compare("entries applied")
	if kind, ok := set.CheckKeys(&keys[0]); kind != revoke.KindToken || !ok {
		t.Errorf("CheckKeys(j1) = %q, %v; want token, true", kind, ok)
	}
	set.Apply(revoke.Entry{Kind: revoke.KindAll, Before: 50, Expires: exp})
	compare("all before 50")
	set.Prune(time.Unix(exp+1, 0))
	compare("pruned")
	if n := set.Len(); n != 0 {
		t.Fatalf("Len after prune = %d; want 0", n)
	}
}
