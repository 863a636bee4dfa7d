package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// TestDeviceTokenIsNoOtherType: a device token verifies only as a device
// token, and access and refresh tokens never verify as one.
func TestDeviceTokenIsNoOtherType(t *testing.T) {
	clock := tokentest.NewFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	iss, v := tokentest.Pair(t, tokentest.NewKeySource(t, token.AlgEdDSA, clock.Now, discardLogger()), clock.Now)
	now := clock.Now()
	device, _, err := iss.IssueDevice("user-1", "device-1", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	access, _, err := iss.IssueAccess("user-1", "session-1", now)
	if err != nil {
		t.Fatal(err)
	}
	refresh, _, err := iss.IssueRefresh("user-1", "session-1", 0, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, raw, want string
		err             error
	}{
		{"device as device", device, token.TypeDevice, nil},
		{"device as access", device, token.TypeAccess, token.ErrTokenType},
		{"device as refresh", device, token.TypeRefresh, token.ErrTokenType},
		{"access as device", access, token.TypeDevice, token.ErrTokenType},
		{"refresh as device", refresh, token.TypeDevice, token.ErrTokenType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.raw, tc.want)
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v; want %v", err, tc.err)
			}
			if tc.err == nil && (c.Subject != "user-1" || c.ID != "device-1" || c.Type != token.TypeDevice) {
				t.Errorf("got claims %+v; want user-1's device-1", c)
			}
		})
	}
	if _, _, err := iss.IssueDevice("user-1", "device-1", now, now); !errors.Is(err, token.ErrInvalidInput) {
		t.Errorf("device token expiring when issued: got %v; want ErrInvalidInput", err)
	}
}
