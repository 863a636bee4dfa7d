package session_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
	"github.com/authmesh/authmesh/session"
)

// audienceCases are the aud claims the claims tests mint tokens with.
var audienceCases = []struct {
	name string
	aud  []string
}{
	{"no audience", nil},
	{"one audience", []string{"billing"}},
	{"four audiences", []string{"billing", "search", "mail", "admin"}},
	{"six audiences", []string{"a", "b", "c", "d", "e", "f"}},
}

// audienceIssuer mints HS256 tokens carrying aud.
func audienceIssuer(t testing.TB, aud []string) *token.Issuer {
	t.Helper()
	return tokentest.HMACIssuer(t, secret, token.IssuerConfig{Audience: aud})
}

// wantClaims is what the validator must report for a token the issuer
// described as tc, written out from the issuer's side.
func wantClaims(tc token.Claims) session.Claims {
	var aud []string
	if tc.Audience != nil {
		aud = append([]string{}, tc.Audience...)
	}
	return session.Claims{
		UserID: tc.Subject, TokenID: tc.ID, SessionID: tc.SessionID, Type: tc.Type,
		Issuer: tc.Issuer, Audience: aud, IssuedAt: time.Unix(tc.IssuedAt, 0),
		NotBefore: time.Unix(tc.NotBefore, 0), ExpiresAt: time.Unix(tc.ExpiresAt, 0),
	}
}

// corrupt changes the fields of c, the audience's elements included, as a
// careless handler might. It leaves Type alone: a cache that handed out its
// own claims would then miss on the type check and hide the aliasing.
func corrupt(c *session.Claims) {
	c.UserID, c.TokenID, c.SessionID, c.Issuer = "admin", "x", "x", "x"
	for i := range c.Audience {
		c.Audience[i] = "corrupted"
	}
	c.Audience = append(c.Audience, "extra")
	c.IssuedAt, c.NotBefore, c.ExpiresAt = time.Time{}, time.Time{}, time.Unix(1<<40, 0)
}

// TestClaimsDoNotAliasCache: a caller that modifies the claims it got,
// from a fresh check or from the cache, changes nothing for the next caller
// presenting the same token.
func TestClaimsDoNotAliasCache(t *testing.T) {
	for _, tt := range audienceCases {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
			iss := audienceIssuer(t, tt.aud)
			raw, tc, err := iss.IssueAccess("user-1", "sess-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			refresh, rc, err := iss.IssueRefresh("user-1", "sess-1", 0, time.Now(), time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []struct {
				kind     string
				raw      string
				want     session.Claims
				validate func(string) (*session.Claims, error)
			}{
				{"access", raw, wantClaims(tc), v.ValidateAccessToken},
				{"refresh", refresh, wantClaims(rc), v.ValidateRefreshToken},
			} {
				// Call 1 checks the signature, calls 2 and 3 come from the cache.
				for call := 1; call <= 3; call++ {
					c, err := tok.validate(tok.raw)
					if err != nil {
						t.Fatalf("%s call %d: %v", tok.kind, call, err)
					}
					if !reflect.DeepEqual(*c, tok.want) {
						t.Fatalf("%s call %d: got %+v; want %+v", tok.kind, call, *c, tok.want)
					}
					corrupt(c)
				}
			}
		})
	}
}

// TestCachedValidationAllocs: on the cached path the caller's copy of the
// claims is the only allocation, for tokens with up to four audiences.
func TestCachedValidationAllocs(t *testing.T) {
	for _, tt := range audienceCases {
		if len(tt.aud) > 4 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
			raw, _, err := audienceIssuer(t, tt.aud).IssueAccess("user-1", "sess-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.ValidateAccessToken(raw); err != nil { // fills the cache
				t.Fatal(err)
			}
			var verr error
			allocs := testing.AllocsPerRun(200, func() {
				_, verr = v.ValidateAccessToken(raw)
			})
			if verr != nil {
				t.Fatal(verr)
			}
			if allocs > 1 {
				t.Fatalf("got %v allocations per cached validation; want at most 1 (the caller's copy)", allocs)
			}
		})
	}
}

// TestMiddlewareAllocs: behind HTTPMiddleware a request with a cached token
// costs two allocations (the claims with the context carrying them, and
// the request copy net/http's WithContext makes), and the handler sees
// claims of its own.
func TestMiddlewareAllocs(t *testing.T) {
	tests := []struct {
		name string
		mw   func(session.Validator) func(http.Handler) http.Handler
	}{
		{"required", session.HTTPMiddleware},
		{"optional", session.OptionalHTTPMiddleware},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
			raw, _, err := audienceIssuer(t, []string{"billing"}).IssueAccess("user-1", "sess-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var got []*session.Claims
			h := tt.mw(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, ok := session.GetClaims(r.Context())
				if !ok || c.UserID != "user-1" || len(c.Audience) != 1 {
					t.Errorf("handler got claims %+v, %v", c, ok)
				}
				if len(got) < 2 {
					got = append(got, c)
				}
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+raw)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r) // fills the cache
			allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
			if allocs > 2 {
				t.Errorf("got %v allocations per request; want at most 2", allocs)
			}
			got[0].Audience[0] = "changed"
			if got[1].Audience[0] != "billing" {
				t.Errorf("requests share claims: a handler's change reached the next request")
			}
		})
	}
}
