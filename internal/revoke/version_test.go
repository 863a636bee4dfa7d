package revoke_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// A key revocation names a signing key: every token it signed is revoked.
func TestSetKeyRevocation(t *testing.T) {
	set := revoke.NewSet()
	if !set.Apply(revoke.Entry{Kind: revoke.KindKey, ID: "kid-1", Expires: future()}) {
		t.Fatal("Apply(kid entry) = false")
	}
	tests := []struct {
		name string
		tok  revoke.Token
		want bool
	}{
		{"signed by the withdrawn key", revoke.Token{ID: "j", SessionID: "s", Subject: "u", KeyID: "kid-1"}, true},
		{"signed by another key", revoke.Token{ID: "j", SessionID: "s", Subject: "u", KeyID: "kid-2"}, false},
		{"no kid", revoke.Token{ID: "kid-1", SessionID: "kid-1", Subject: "kid-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, ok := set.CheckToken(tt.tok)
			if ok != tt.want || (ok && kind != revoke.KindKey) {
				t.Errorf("CheckToken(%+v) = %q, %v; want kid, %v", tt.tok, kind, ok, tt.want)
			}
		})
	}
}

// An entry of a newer protocol version or an unknown kind is not ignored:
// the Set reports it until it expires, so the validator refuses every token.
func TestSetRemembersWhatItCannotRead(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		e    revoke.Entry
		why  string
	}{
		{"unknown kind", revoke.Entry{V: 1, Kind: "before", ID: "all", Expires: now.Add(time.Hour).Unix()}, "unknown kind"},
		{"newer version", revoke.Entry{V: revoke.ProtocolVersion + 1, Kind: revoke.KindToken, ID: "j", Expires: now.Add(time.Hour).Unix()}, "protocol version"},
		{"unknown kind without expiry", revoke.Entry{Kind: "client", ID: "svc"}, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := revoke.NewSet()
			if set.Apply(tt.e) {
				t.Fatalf("Apply(%+v) = true; want false", tt.e)
			}
			if n, why := set.Unsupported(); n != 1 || !strings.Contains(why, tt.why) {
				t.Errorf("Unsupported() = %d, %q; want 1 and a reason naming %q", n, why, tt.why)
			}
			set.Prune(now.Add(2 * time.Hour))
			n, _ := set.Unsupported()
			if want := map[bool]int{true: 0, false: 1}[tt.e.Expires > 0]; n != want {
				t.Errorf("after the entry's expiry Unsupported() = %d; want %d", n, want)
			}
		})
	}
	set := revoke.NewSet()
	if set.ApplyAll([]revoke.Entry{tokenEntry("ok"), tests[0].e}) != 1 {
		t.Error("ApplyAll applied an unsupported entry")
	}
	if n, _ := set.Unsupported(); n != 1 {
		t.Errorf("ApplyAll: Unsupported() = %d; want 1", n)
	}
}
