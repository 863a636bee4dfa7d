package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestSigningAlgorithms: each selectable algorithm (SIGNING_ALG, or HS256
// with JWT_SECRET) issues tokens that a microservice validates (from the
// JWKS when it holds no secret), tokens altered into another string of the
// same signature are refused by both services, and logout reaches the
// microservice over the feed.
func TestSigningAlgorithms(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	const secret = quickSecret + "-signing-algorithms"
	for _, alg := range []string{"HS256", "EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			authEnv := map[string]string{"DATA_DIR": t.TempDir(), "SIGNING_ALG": alg}
			svcEnv := map[string]string{}
			if alg == "HS256" {
				authEnv = map[string]string{"DATA_DIR": t.TempDir(), "JWT_SECRET": secret}
				svcEnv["JWT_SECRET"] = secret
			}
			auth := start(t, serverBin, merge(cheapArgon, authEnv), "/healthz")
			svc := start(t, exampleBin, merge(svcEnv, map[string]string{"AUTH_URL": auth.URL}), "/health")
			a := registerAndLogin(t, auth.URL, strings.ToLower(alg)+"@example.com")
			if got := headerAlg(t, a.Token); got != alg {
				t.Fatalf("token alg: got %s; want %s", got, alg)
			}
			quickStartRequests(t, svc.URL, a)
			a = oneTokenOneString(t, auth, svc, a, alg)
			var ok bool
			gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &ok)
			waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second)
		})
	}
}

// oneTokenOneString checks that the running services accept a token only in
// the form it was issued in: a refresh token with a line feed (or another
// byte outside base64url) in any segment is refused by the auth service and
// does not rotate the session; an access token so altered, or an ES256
// token carrying the (r, n-s) twin of its signature, is refused by the auth
// service and the microservice. The untouched refresh token then still
// works; the account with its new tokens is returned.
func oneTokenOneString(t *testing.T, auth, svc *service, a account, alg string) account {
	t.Helper()
	refreshQuery := func(tok string) string {
		return fmt.Sprintf(`mutation { refreshToken(token: %q) { token refreshToken } }`, tok)
	}
	altered := map[string]string{}
	for seg := range 3 {
		for _, c := range []string{"\n", "\r", " ", "="} {
			altered[fmt.Sprintf("%q in segment %d", c, seg)] = insertInSegment(a.Refresh, seg, c)
		}
	}
	if alg == "ES256" {
		altered["high-S twin"] = highSTwin(t, a.Refresh)
	}
	for what, tok := range altered {
		if r := gql(t, auth.URL, refreshQuery(tok), ""); r.code() != "UNAUTHENTICATED" {
			t.Errorf("refreshToken, %s: code %q; want UNAUTHENTICATED", what, r.code())
		}
	}
	accessAltered := map[string]string{
		`"=" in signature`: insertInSegment(a.Token, 2, "="), `"+" in claims`: insertInSegment(a.Token, 1, "+"),
	}
	if alg == "ES256" {
		accessAltered["high-S twin"] = highSTwin(t, a.Token)
	}
	for what, tok := range accessAltered {
		if code, _ := get(t, svc.URL+"/api/protected", tok); code != 401 {
			t.Errorf("microservice, access token with %s: status %d; want 401", what, code)
		}
		if r := gql(t, auth.URL, `{ me { id } }`, tok); r.code() != "UNAUTHENTICATED" {
			t.Errorf("auth service, access token with %s: code %q; want UNAUTHENTICATED", what, r.code())
		}
	}
	// Had an altered refresh token been accepted, it would have rotated the
	// session and this one would be a reuse (and end the session).
	var p struct{ Token, RefreshToken string }
	gql(t, auth.URL, refreshQuery(a.Refresh), "").field(t, "refreshToken", &p)
	a.Token, a.Refresh = p.Token, p.RefreshToken
	if code, _ := get(t, svc.URL+"/api/protected", a.Token); code != 200 {
		t.Fatalf("fresh access token after the attempts: status %d; want 200", code)
	}
	return a
}

// insertInSegment inserts s in the middle of segment seg of a compact JWS.
func insertInSegment(tok string, seg int, s string) string {
	parts := strings.Split(tok, ".")
	mid := len(parts[seg]) / 2
	parts[seg] = parts[seg][:mid] + s + parts[seg][mid:]
	return strings.Join(parts, ".")
}

// highSTwin replaces the ES256 signature (r, s) of tok by (r, n-s), which
// ECDSA alone also accepts.
func highSTwin(t *testing.T, tok string) string {
	t.Helper()
	n, _ := new(big.Int).SetString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("ES256 signature: %d bytes, %v", len(sig), err)
	}
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	twin := append(sig[:32:32], s.FillBytes(make([]byte, 32))...)
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(twin)
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
