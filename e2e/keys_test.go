package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSigningAlgorithms: each selectable algorithm (SIGNING_ALG) issues
// tokens that a microservice holding no secret validates from the JWKS,
// and logout reaches it over the feed.
func TestSigningAlgorithms(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir(), "SIGNING_ALG": alg}), "/healthz")
			svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/health")
			a := registerAndLogin(t, auth.URL, strings.ToLower(alg)+"@example.com")
			if got := headerAlg(t, a.Token); got != alg {
				t.Fatalf("token alg: got %s; want %s", got, alg)
			}
			quickStartRequests(t, svc.URL, a)
			var ok bool
			gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &ok)
			waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second)
		})
	}
}

// headerAlg returns the alg of a token's header.
func headerAlg(t *testing.T, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(tok[:max(strings.IndexByte(tok, '.'), 0)])
	var hdr struct{ Alg, Typ string }
	if err != nil || json.Unmarshal(h, &hdr) != nil || hdr.Typ != "at+jwt" {
		t.Fatalf("token header is not base64url JSON with typ at+jwt: %.40s", tok)
	}
	return hdr.Alg
}
