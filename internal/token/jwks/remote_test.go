package jwks_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/jwks"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// jwksServer serves a replaceable JWKS document and counts requests.
type jwksServer struct {
	*httptest.Server
	body atomic.Pointer[[]byte]
	fail atomic.Bool
	hits atomic.Int64
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(body)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) { s.body.Store(&body) }

// mergeJWKS returns one JWK Set holding the keys of every source.
func mergeJWKS(t *testing.T, srcs ...tokentest.KeySource) []byte {
	t.Helper()
	all := []json.RawMessage{}
	for _, s := range srcs {
		raw, err := s.JWKS()
		if err != nil {
			t.Fatal(err)
		}
		var set struct{ Keys []json.RawMessage }
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatal(err)
		}
		all = append(all, set.Keys...)
	}
	out, _ := json.Marshal(map[string]any{"keys": all})
	return out
}

func newRemote(t *testing.T, url string, minRefetch time.Duration) *jwks.RemoteKeys {
	t.Helper()
	r, err := jwks.NewRemoteKeys(jwks.Config{
		URL: url, RefreshInterval: time.Hour, MinRefetchInterval: minRefetch, Logger: discardLogger(),
	})
	if err != nil {
		t.Fatalf("NewRemoteKeys: %v", err)
	}
	return r
}

// runRemote runs r.Run until the test ends.
func runRemote(t *testing.T, r *jwks.RemoteKeys) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func issueWith(t *testing.T, s token.Signer) string {
	t.Helper()
	iss, err := token.NewIssuer(s, token.IssuerConfig{Audience: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := iss.IssueAccess("u", "s", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRemoteKeysLifecycle(t *testing.T) {
	ringA := tokentest.NewKeySource(t, token.AlgEdDSA, nil, discardLogger())
	ringB := tokentest.NewKeySource(t, token.AlgES256, nil, discardLogger())
	srv := newJWKSServer(t, mergeJWKS(t, ringA))
	remote := newRemote(t, srv.URL+jwks.Path, 50*time.Millisecond)
	v, err := token.NewVerifier(remote, token.VerifierConfig{Audience: "api"})
	if err != nil {
		t.Fatal(err)
	}
	tokA, tokB := issueWith(t, ringA), issueWith(t, ringB)

	if _, err := v.Verify(tokA, token.TypeAccess); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("before Start: Verify = %v; want ErrUnknownKey", err)
	}
	if err := remote.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if remote.LastRefresh().IsZero() {
		t.Error("LastRefresh is zero after Start")
	}
	if _, err := v.Verify(tokA, token.TypeAccess); err != nil {
		t.Fatalf("after Start: Verify = %v; want nil", err)
	}
	runRemote(t, remote)

	// Rotation: a new key is published; the first token with it fails
	// without blocking, and a background refetch makes later ones succeed.
	srv.set(mergeJWKS(t, ringA, ringB))
	if _, err := v.Verify(tokB, token.TypeAccess); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("new kid before refetch: Verify = %v; want ErrUnknownKey", err)
	}
	testenv.WaitFor(t, "new key trusted", func() bool { _, err := v.Verify(tokB, token.TypeAccess); return err == nil })

	// A failed refresh keeps the last good set.
	srv.fail.Store(true)
	if err := remote.Refresh(context.Background()); err == nil {
		t.Error("Refresh against a failing server: got nil error")
	}
	for _, tok := range []string{tokA, tokB} {
		if _, err := v.Verify(tok, token.TypeAccess); err != nil {
			t.Errorf("after failed refresh: Verify = %v; want nil", err)
		}
	}

	// A removed key stops being trusted after the next successful refresh.
	srv.fail.Store(false)
	srv.set(mergeJWKS(t, ringB))
	if err := remote.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tokA, token.TypeAccess); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("removed key: Verify = %v; want ErrUnknownKey", err)
	}
	if _, err := v.Verify(tokB, token.TypeAccess); err != nil {
		t.Errorf("remaining key: Verify = %v; want nil", err)
	}
}

// TestRemoteKeysUnknownKidRateLimit: a flood of unknown kids costs at most
// one JWKS fetch per MinRefetchInterval. Time is a fake clock stepped by the
// test; Run's waits are observed on it, never slept through.
func TestRemoteKeysUnknownKidRateLimit(t *testing.T) {
	ring := tokentest.NewKeySource(t, token.AlgEdDSA, nil, discardLogger())
	srv := newJWKSServer(t, mergeJWKS(t, ring))
	const minRefetch = 10 * time.Second
	clk := tokentest.NewFakeClock(time.Unix(1_700_000_000, 0))
	remote, err := jwks.NewRemoteKeys(jwks.Config{
		URL: srv.URL, RefreshInterval: time.Hour, MinRefetchInterval: minRefetch,
		Logger: discardLogger(), Clock: clk.Now, After: clk.After,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	runRemote(t, remote)
	flood := func() {
		t.Helper()
		for range 100 {
			if _, err := remote.VerificationKey("attacker-chosen-kid", token.AlgEdDSA); !errors.Is(err, token.ErrUnknownKey) {
				t.Fatalf("VerificationKey = %v; want ErrUnknownKey", err)
			}
		}
	}
	for round := int64(1); round <= 3; round++ {
		flood()
		// Run, poked, now waits out the interval: nothing is fetched yet.
		testenv.WaitFor(t, "Run waiting for MinRefetchInterval", func() bool { return clk.Waiting(minRefetch) })
		if got := srv.hits.Load(); got != round {
			t.Fatalf("round %d: %d fetches before the interval passed; want %d", round, got, round)
		}
		clk.Advance(minRefetch - time.Second)
		if got := srv.hits.Load(); got != round {
			t.Fatalf("round %d: %d fetches 1s before the interval passed; want %d", round, got, round)
		}
		clk.Advance(time.Second)
		testenv.WaitFor(t, "the rate-limited refetch", func() bool { return srv.hits.Load() == round+1 })
	}
}

func TestRemoteKeysIgnoresUnusableJWKs(t *testing.T) {
	ring := tokentest.NewKeySource(t, token.AlgEdDSA, nil, discardLogger())
	good := mergeJWKS(t, ring)
	var set struct{ Keys []map[string]any }
	_ = json.Unmarshal(good, &set)

	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	private, _ := json.Marshal(jose.JSONWebKey{Key: edPriv, KeyID: "private", Algorithm: "EdDSA", Use: "sig"})
	weakRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	weak, _ := json.Marshal(jose.JSONWebKey{Key: &weakRSA.PublicKey, KeyID: "weak", Algorithm: "RS256", Use: "sig"})
	encKey := map[string]any{}
	for k, v := range set.Keys[0] {
		encKey[k] = v
	}
	encKey["kid"], encKey["use"] = "enc", "enc"
	wrongAlg := map[string]any{}
	for k, v := range set.Keys[0] {
		wrongAlg[k] = v
	}
	wrongAlg["kid"], wrongAlg["alg"] = "wrong-alg", "RS256"
	noKid := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": set.Keys[0]["x"]}

	doc, _ := json.Marshal(map[string]any{"keys": []any{
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
		map[string]any{"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
		map[string]any{"kty": "FOO", "kid": "foo"},
		"not an object",
		json.RawMessage(private), json.RawMessage(weak), encKey, wrongAlg, noKid,
		set.Keys[0],
	}})
	srv := newJWKSServer(t, doc)
	remote := newRemote(t, srv.URL, time.Second)
	if err := remote.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	kid := tokentest.SigningKid(t, ring)
	if _, err := remote.VerificationKey(kid, token.AlgEdDSA); err != nil {
		t.Errorf("usable key: %v", err)
	}
	if _, err := remote.VerificationKey(kid, token.AlgRS256); !errors.Is(err, token.ErrAlgorithm) {
		t.Errorf("usable key with wrong alg: %v; want ErrAlgorithm", err)
	}
	for _, bad := range []string{"hmac", "p384", "foo", "private", "weak", "enc", "wrong-alg"} {
		if _, err := remote.VerificationKey(bad, token.AlgEdDSA); !errors.Is(err, token.ErrUnknownKey) {
			t.Errorf("kid %q: %v; want ErrUnknownKey", bad, err)
		}
	}

	// A document without one usable key is a failed refresh: keep the set.
	for _, body := range []string{`{"keys":[{"kty":"oct","kid":"x","k":"AA"}]}`, `not json`, `{"no":"keys"}`} {
		srv.set([]byte(body))
		if err := remote.Refresh(context.Background()); err == nil {
			t.Errorf("Refresh(%s): got nil error", body)
		}
		if _, err := remote.VerificationKey(kid, token.AlgEdDSA); err != nil {
			t.Errorf("after Refresh(%s): %v; want the last good key", body, err)
		}
	}
}

func TestRemoteKeysStartFails(t *testing.T) {
	srv := newJWKSServer(t, []byte(`{"keys":[]}`))
	srv.fail.Store(true)
	remote := newRemote(t, srv.URL, time.Second)
	if err := remote.Start(context.Background()); err == nil {
		t.Error("Start against a failing server: got nil error")
	}
	if _, err := jwks.NewRemoteKeys(jwks.Config{URL: "not a url"}); !errors.Is(err, token.ErrInvalidConfig) {
		t.Errorf("NewRemoteKeys(bad URL) = %v; want ErrInvalidConfig", err)
	}
}

// TestRemoteKeysStrictJWK: a JWK is trusted only in its one canonical
// encoding, with member names matched exactly: line feeds or padding in a
// key member, non-canonical trailing bits, a leading zero in an RSA
// integer, case-variant or repeated member names are all ignored.
func TestRemoteKeysStrictJWK(t *testing.T) {
	var keys []map[string]any
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256} {
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal(mergeJWKS(t, tokentest.NewKeySource(t, alg, nil, discardLogger())), &set); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, set.Keys[0])
	}
	ed, ec, rs := keys[0], keys[1], keys[2]
	variant := func(base map[string]any, kid string, kv ...string) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		out["kid"] = kid
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	str := func(m map[string]any, k string) string { return m[k].(string) }
	// flipLow changes the unused low bits of the last character.
	flipLow := func(s string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		i := strings.IndexByte(alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(alphabet[i^1])
	}
	n, _ := base64.RawURLEncoding.DecodeString(str(rs, "n"))
	bad := map[string]map[string]any{
		"line feed in x":        variant(ed, "lf-x", "x", str(ed, "x")[:20]+"\n"+str(ed, "x")[20:]),
		"padding on y":          variant(ec, "pad-y", "y", str(ec, "y")+"="),
		"trailing bits of x":    variant(ed, "bits-x", "x", flipLow(str(ed, "x"))),
		"leading zero in n":     variant(rs, "zero-n", "n", base64.RawURLEncoding.EncodeToString(append([]byte{0}, n...))),
		"leading zero in e":     variant(rs, "zero-e", "e", base64.RawURLEncoding.EncodeToString([]byte{0, 1, 0, 1})),
		"case-variant KTY":      variant(ed, "case-kty", "KTY", "OKP", "kty", ""),
		"case-variant CRV":      variant(ed, "case-crv", "CRV", "Ed25519", "crv", ""),
		"case-variant Kid only": variant(ed, "", "Kid", "case-kid", "kid", ""),
	}
	var doc bytes.Buffer
	doc.WriteString(`{"keys":[`)
	for _, k := range bad {
		b, _ := json.Marshal(k)
		doc.Write(b)
		doc.WriteByte(',')
	}
	// A repeated member (encoding/json would take the last one).
	good, _ := json.Marshal(ed)
	doc.Write(bytes.Replace(good, []byte(`{`), []byte(`{"kid":"repeated",`), 1))
	doc.WriteByte(',')
	doc.Write(good)
	doc.WriteString(`]}`)

	srv := newJWKSServer(t, doc.Bytes())
	remote := newRemote(t, srv.URL, time.Second)
	if err := remote.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if _, err := remote.VerificationKey(str(ed, "kid"), token.AlgEdDSA); err != nil {
		t.Errorf("canonical key: %v", err)
	}
	for name, k := range bad {
		kid, _ := k["kid"].(string)
		if kid == "" {
			kid = "case-kid"
		}
		for _, alg := range []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256} {
			if _, err := remote.VerificationKey(kid, alg); !errors.Is(err, token.ErrUnknownKey) {
				t.Errorf("%s (kid %q): VerificationKey = %v; want ErrUnknownKey", name, kid, err)
			}
		}
	}
	if _, err := remote.VerificationKey("repeated", token.AlgEdDSA); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("repeated kid member: VerificationKey = %v; want ErrUnknownKey", err)
	}
}
