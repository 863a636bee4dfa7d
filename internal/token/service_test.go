package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// TestServiceTokens: a service token (client_id, sub = client_id, no sid)
// verifies and says what it is; the claims that tell the two kinds apart
// cannot be mixed.
func TestServiceTokens(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	keys := tokentest.NewKeySource(t, token.AlgHS256, clock, discardLogger())
	iss, v := tokentest.Pair(t, keys, clock)

	raw, issued, err := iss.IssueService("billing", []string{"api"}, []string{"invoices:read", "invoices:write"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(raw, token.TypeAccess)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !got.IsService() || got.Subject != "billing" || got.ClientID != "billing" || got.SessionID != "" ||
		got.Scope != "invoices:read invoices:write" || got.ID != issued.ID {
		t.Fatalf("got %+v; want the service token's claims %+v", got, issued)
	}
	if _, err := v.Verify(mustUser(t, iss), token.TypeAccess); err != nil {
		t.Fatalf("a user token: %v", err)
	}

	c := toMap(t, issued)
	hdr := map[string]any{"alg": "HS256", "typ": "at+jwt"}
	sign := hs256(tokentest.Secret)
	tests := []struct {
		name   string
		claims map[string]any
		want   error
	}{
		{"service token with a sid", with(c, "sid", "sess-1"), token.ErrTokenType},
		{"client_id other than sub", with(c, "client_id", "someone-else"), token.ErrTokenType},
		{"user token without a sid", with(c, "client_id", nil), token.ErrMissingClaim},
		{"service refresh token", with(c, "type", "refresh"), token.ErrTokenType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify(forge(t, hdr, tt.claims, sign), token.TypeAccess); !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
		})
	}

	for _, bad := range [][]string{{""}, {"two words"}, {`quote"`}} {
		if _, _, err := iss.IssueService("billing", nil, bad, time.Time{}); !errors.Is(err, token.ErrInvalidInput) {
			t.Errorf("scope %q: got %v; want ErrInvalidInput", bad, err)
		}
	}
	if _, _, err := iss.IssueService("", nil, nil, time.Time{}); !errors.Is(err, token.ErrInvalidInput) {
		t.Errorf("empty client id: got %v; want ErrInvalidInput", err)
	}
}

func mustUser(t *testing.T, iss *token.Issuer) string {
	t.Helper()
	raw, _, err := iss.IssueAccess("user-1", "sess-1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
