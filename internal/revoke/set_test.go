package revoke_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

func TestSetCheck(t *testing.T) {
	set := revoke.NewSet()
	exp := future()
	for _, e := range []revoke.Entry{
		{Kind: revoke.KindToken, ID: "j1", Expires: exp},
		{Kind: revoke.KindSession, ID: "s1", Expires: exp},
		{Kind: revoke.KindUser, ID: "u1", Before: 100, Expires: exp},
		{Kind: revoke.KindUser, ID: "u1", Before: 50, Expires: exp}, // older cut: no effect
	} {
		if !set.Apply(e) {
			t.Fatalf("Apply(%+v) = false", e)
		}
	}
	tests := []struct {
		name          string
		jti, sid, sub string
		iat           int64
		want          revoke.Kind
		revoked       bool
	}{
		{"jti", "j1", "", "", 0, revoke.KindToken, true},
		{"sid", "", "s1", "", 0, revoke.KindSession, true},
		{"sub before cut", "", "", "u1", 99, revoke.KindUser, true},
		{"sub at cut", "", "", "u1", 100, "", false},
		{"ids do not cross kinds", "s1", "u1", "j1", 0, "", false},
		{"empty ids", "", "", "", 0, "", false},
		{"unknown", "j2", "s2", "u2", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, ok := set.Check(tt.jti, tt.sid, tt.sub, tt.iat)
			if kind != tt.want || ok != tt.revoked {
				t.Errorf("Check = %q, %v; want %q, %v", kind, ok, tt.want, tt.revoked)
			}
		})
	}
	if got := set.Len(); got != 3 {
		t.Errorf("Len = %d; want 3 (reapplying is idempotent)", got)
	}
}

func TestSetApplyRejectsInvalid(t *testing.T) {
	set := revoke.NewSet()
	bad := []revoke.Entry{{}, {Kind: revoke.KindToken, ID: "x"}, {Kind: "x", ID: "y", Expires: 1}}
	for _, e := range bad {
		if set.Apply(e) {
			t.Errorf("Apply(%+v) = true; want false", e)
		}
	}
	if n := set.ApplyAll(append(bad, tokenEntry("ok"))); n != 1 {
		t.Errorf("ApplyAll = %d; want 1", n)
	}
}

func TestSetPruneKeepsTheLaterExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	set := revoke.NewSet()
	set.ApplyAll([]revoke.Entry{
		{Kind: revoke.KindToken, ID: "a", Expires: now.Unix() - 1},
		{Kind: revoke.KindToken, ID: "b", Expires: now.Unix() - 1},
		{Kind: revoke.KindToken, ID: "b", Expires: now.Unix() + 60}, // extended
		{Kind: revoke.KindSession, ID: "s", Expires: now.Unix()},
		{Kind: revoke.KindUser, ID: "u", Before: 5, Expires: now.Unix() + 1},
	})
	if n := set.Prune(now); n != 2 {
		t.Errorf("Prune = %d; want 2", n)
	}
	if _, ok := set.Check("b", "", "", 0); !ok {
		t.Error("b pruned despite its later expiry")
	}
	if _, ok := set.Check("a", "", "", 0); ok {
		t.Error("a survived pruning")
	}
	if got := set.Len(); got != 2 {
		t.Errorf("Len = %d; want 2", got)
	}
}

func TestSetConcurrentUse(t *testing.T) {
	set := revoke.NewSet()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				id := fmt.Sprint("w", w, "-", i)
				set.Apply(tokenEntry(id))
				if _, ok := set.Check(id, "", "", 0); !ok {
					t.Errorf("%s not revoked right after Apply", id)
					return
				}
				if i%200 == 0 {
					set.Prune(time.Now())
				}
			}
		}()
	}
	wg.Wait()
	if got := set.Len(); got != 8000 {
		t.Errorf("Len = %d; want 8000", got)
	}
}

// TestSetConcurrentReadersSeeEveryAppliedEntry checks the lock-free read
// path under the race detector: while a writer applies entries (growing
// the tables several times) and prunes expired ones (leaving tombstones
// and rebuilding), readers keep finding every entry applied before they
// looked, and never an entry that was never applied.
func TestSetConcurrentReadersSeeEveryAppliedEntry(t *testing.T) {
	tests := []struct {
		name string
		kind revoke.Kind
		tok  func(id string) revoke.Token
	}{
		{"jti", revoke.KindToken, func(id string) revoke.Token { return revoke.Token{ID: id} }},
		{"sid", revoke.KindSession, func(id string) revoke.Token { return revoke.Token{SessionID: id} }},
		{"kid", revoke.KindKey, func(id string) revoke.Token { return revoke.Token{KeyID: id} }},
		{"sub", revoke.KindUser, func(id string) revoke.Token { return revoke.Token{Subject: id, IssuedAt: 1} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 1000
			set := revoke.NewSet()
			var applied atomic.Int64 // entries 0..applied-1 are in the set
			entry := func(i int, exp int64) revoke.Entry {
				e := revoke.Entry{Kind: tt.kind, ID: fmt.Sprint("live-", i), Expires: exp}
				if tt.kind == revoke.KindUser {
					e.Before = 2
				}
				return e
			}
			var wg sync.WaitGroup
			errs := make(chan string, 4)
			for r := 0; r < 2; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for applied.Load() < n {
						upTo := int(applied.Load())
						if upTo == 0 {
							continue
						}
						for _, i := range []int{0, upTo / 2, upTo - 1} {
							if _, ok := set.CheckToken(tt.tok(fmt.Sprint("live-", i))); !ok {
								errs <- fmt.Sprintf("entry %d applied but not seen", i)
								return
							}
						}
						if _, ok := set.CheckToken(tt.tok("never-applied")); ok {
							errs <- "an entry never applied is seen"
							return
						}
					}
				}()
			}
			for i := 0; i < n; i++ {
				set.Apply(entry(i, future()))
				set.Apply(entry(i+n, 5)) // expired at once
				applied.Store(int64(i + 1))
				if i%200 == 0 {
					set.Prune(time.Unix(10, 0))
				}
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			set.Prune(time.Unix(10, 0))
			if got := set.Len(); got != n {
				t.Errorf("Len after prune = %d; want %d", got, n)
			}
		})
	}
}

// TestSetReappliedAfterPrune: an entry pruned and then applied again (its
// slot is a tombstone of the same key) is revoked again, with the new
// cut-off, and counted once.
func TestSetReappliedAfterPrune(t *testing.T) {
	tests := []struct {
		name string
		e    revoke.Entry
		tok  revoke.Token
	}{
		{"jti", revoke.Entry{Kind: revoke.KindToken, ID: "j"}, revoke.Token{ID: "j"}},
		{"sid", revoke.Entry{Kind: revoke.KindSession, ID: "s"}, revoke.Token{SessionID: "s"}},
		{"kid", revoke.Entry{Kind: revoke.KindKey, ID: "k"}, revoke.Token{KeyID: "k"}},
		{"sub", revoke.Entry{Kind: revoke.KindUser, ID: "u", Before: 50}, revoke.Token{Subject: "u", IssuedAt: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := revoke.NewSet()
			old := tt.e
			old.Expires = 10
			if old.Kind == revoke.KindUser {
				old.Before = 30 // would not revoke iat 40
			}
			set.Apply(old)
			if n := set.Prune(time.Unix(20, 0)); n != 1 {
				t.Fatalf("Prune removed %d; want 1", n)
			}
			if _, ok := set.CheckToken(tt.tok); ok {
				t.Fatal("revoked after prune")
			}
			again := tt.e
			again.Expires = future()
			set.Apply(again)
			if _, ok := set.CheckToken(tt.tok); !ok {
				t.Error("not revoked after being applied again")
			}
			if got := set.Len(); got != 1 {
				t.Errorf("Len = %d; want 1", got)
			}
		})
	}
}
