package token_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// TestEmailVerifiedClaim: an access token states email_verified: true for
// a verified user and leaves the claim out otherwise; Verify reads it back.
func TestEmailVerifiedClaim(t *testing.T) {
	clock := tokentest.NewFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	iss, v := tokentest.Pair(t, tokentest.NewKeySource(t, token.AlgEdDSA, clock.Now, discardLogger()), clock.Now)
	for _, verified := range []bool{true, false} {
		raw, _, err := iss.IssueUserAccess("user-1", "session-1", clock.Now(), verified)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(payload), `"email_verified":true`); got != verified {
			t.Errorf("verified=%v: payload %s", verified, payload)
		}
		if !verified && strings.Contains(string(payload), "email_verified") {
			t.Errorf("unverified: payload %s; want no email_verified claim", payload)
		}
		c, err := v.Verify(raw, token.TypeAccess)
		if err != nil || c.EmailVerified != verified {
			t.Errorf("verified=%v: Verify got %+v, %v", verified, c, err)
		}
	}
}
