package keyring_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/jwks"
	"github.com/authmesh/authmesh/internal/token/keyring"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// TestJWKSStandardClients checks the published JWKS with go-jose and with
// keyfunc, and verifies an issued token through keyfunc and golang-jwt.
func TestJWKSStandardClients(t *testing.T) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			ring := tokentest.NewKeySource(t, alg, nil, discardLogger())
			kid := tokentest.SigningKid(t, ring)
			if got := jwksKids(t, ring); len(got) != 1 || got[0] != kid {
				t.Fatalf("go-jose kids = %v; want [%s]", got, kid)
			}
			raw, _ := ring.JWKS()
			kf, err := keyfunc.NewJWKSetJSON(raw)
			if err != nil {
				t.Fatalf("keyfunc.NewJWKSetJSON: %v\n%s", err, raw)
			}
			iss, _ := tokentest.Pair(t, ring, nil)
			tok, _, err := iss.IssueAccess("user-1", "sess-1", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jwt.Parse(tok, kf.Keyfunc, jwt.WithValidMethods([]string{alg}),
				jwt.WithIssuer(token.DefaultIssuer), jwt.WithAudience("api"))
			if err != nil {
				t.Fatalf("golang-jwt with keyfunc: %v", err)
			}
			if sub, _ := parsed.Claims.GetSubject(); sub != "user-1" {
				t.Errorf("sub = %q; want user-1", sub)
			}
			for _, member := range []string{`"use":"sig"`, `"alg":"` + alg + `"`, `"kid":"` + kid + `"`} {
				if !strings.Contains(string(raw), member) {
					t.Errorf("JWKS lacks %s: %s", member, raw)
				}
			}
		})
	}
}

func TestHMACJWKSEmpty(t *testing.T) {
	k := tokentest.NewKeySource(t, token.AlgHS256, nil, discardLogger())
	raw, err := k.JWKS()
	if err != nil || string(raw) != `{"keys":[]}` {
		t.Errorf("JWKS = %s, %v; want {\"keys\":[]}", raw, err)
	}
	if got := jwksKids(t, k); len(got) != 0 {
		t.Errorf("go-jose kids = %v; want none", got)
	}
}

func TestJWKSHandler(t *testing.T) {
	ring := tokentest.NewKeySource(t, token.AlgEdDSA, nil, discardLogger())
	srv := httptest.NewServer(keyring.JWKSHandler(ring))
	defer srv.Close()

	resp, err := http.Get(srv.URL + jwks.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d; want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control = %q; want public, max-age=300", got)
	}
	etag := resp.Header.Get("ETag")

	req, _ := http.NewRequest(http.MethodGet, srv.URL+jwks.Path, nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET status = %d; want 304", resp.StatusCode)
	}

	resp, err = http.Post(srv.URL+jwks.Path, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status = %d; want 405", resp.StatusCode)
	}
}
