package token_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authmesh/authmesh/internal/token"
)

func newRing(t *testing.T, store token.KeyStore, cfg token.KeyRingConfig) *token.KeyRing {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	r, err := token.NewKeyRing(context.Background(), store, cfg)
	if err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	return r
}

// jwksKids parses src's JWKS with go-jose and returns the kids in it.
func jwksKids(t *testing.T, src token.JWKSSource) []string {
	t.Helper()
	raw, err := src.JWKS()
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("go-jose JSONWebKeySet: %v\n%s", err, raw)
	}
	var kids []string
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || k.Use != "sig" {
			t.Errorf("JWK %s: valid %v public %v use %q; want valid public sig", k.KeyID, k.Valid(), k.IsPublic(), k.Use)
		}
		kids = append(kids, k.KeyID)
	}
	slices.Sort(kids)
	return kids
}

func signingKid(t *testing.T, s token.Signer) string {
	t.Helper()
	k, err := s.SigningKey()
	if err != nil {
		t.Fatalf("SigningKey: %v", err)
	}
	return k.KeyID()
}

func TestKeyRingRotation(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	store := &memKeyStore{}
	ring := newRing(t, store, token.KeyRingConfig{
		RotateEvery: 24 * time.Hour, PrePublish: time.Hour,
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 2 * time.Hour, ClockSkew: time.Minute,
		Clock: clock.Now,
	})
	iss, v := pair(t, ring, clock.Now)
	k0 := signingKid(t, ring)
	if got := jwksKids(t, ring); !slices.Equal(got, []string{k0}) {
		t.Fatalf("JWKS at start = %v; want [%s]", got, k0)
	}
	sk0, _ := ring.SigningKey()

	// 23h: the next key is created and published, but k0 still signs.
	clock.Advance(23 * time.Hour)
	if err := ring.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(jwksKids(t, ring)); got != 2 {
		t.Fatalf("JWKS after pre-publish has %d keys; want 2", got)
	}
	if got := signingKid(t, ring); got != k0 {
		t.Fatalf("signing kid before SignFrom = %s; want %s", got, k0)
	}
	clock.Advance(59 * time.Minute)
	lateAccess, _, _ := iss.IssueAccess("u", "s", clock.Now())
	lateRefresh, _, _ := iss.IssueRefresh("u", "s", 1, clock.Now(), clock.Now().Add(2*time.Hour))

	// 24h: the new key signs, with no maintenance needed.
	clock.Advance(time.Minute)
	k1 := signingKid(t, ring)
	if k1 == k0 {
		t.Fatalf("signing key did not rotate at SignFrom")
	}
	newAccess, _, _ := iss.IssueAccess("u", "s", clock.Now())
	for name, raw := range map[string]string{"access before": lateAccess, "access after": newAccess} {
		if _, err := v.Verify(raw, token.TypeAccess); err != nil {
			t.Errorf("%s rotation: Verify = %v; want nil", name, err)
		}
	}
	if _, err := v.Verify(lateRefresh, token.TypeRefresh); err != nil {
		t.Errorf("refresh signed before rotation: Verify = %v; want nil", err)
	}

	// Past k0's PublishUntil (SignUntil + max TTL + skew): k0 is gone.
	clock.Advance(2*time.Hour + time.Minute)
	if err := ring.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, ring); !slices.Equal(got, []string{k1}) {
		t.Errorf("JWKS after retirement = %v; want [%s]", got, k1)
	}
	iss0, _ := token.NewIssuer(fixedSigner{sk0}, token.IssuerConfig{Audience: []string{"api"}, Clock: clock.Now})
	oldKeyToken, _, _ := iss0.IssueAccess("u", "s", clock.Now())
	if _, err := v.Verify(oldKeyToken, token.TypeAccess); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("token signed by dropped key: Verify = %v; want ErrUnknownKey", err)
	}
	if _, err := v.Verify(newAccess, token.TypeAccess); !errors.Is(err, token.ErrExpired) {
		t.Errorf("old access token: Verify = %v; want ErrExpired", err)
	}
	fresh, _, _ := iss.IssueAccess("u", "s", clock.Now())
	if _, err := v.Verify(fresh, token.TypeAccess); err != nil {
		t.Errorf("fresh token: Verify = %v; want nil", err)
	}
}

// fixedSigner signs with one given key.
type fixedSigner struct{ k token.SigningKey }

func (f fixedSigner) SigningKey() (token.SigningKey, error) { return f.k, nil }

func TestKeyRingReplicasConverge(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	store := &memKeyStore{}
	cfg := token.KeyRingConfig{RotateEvery: 24 * time.Hour, Clock: clock.Now, Algorithm: token.AlgES256}

	// Two replicas start at once on an empty store.
	rings := make([]*token.KeyRing, 2)
	errs := make([]error, 2)
	cfg.Logger = discardLogger()
	var wg sync.WaitGroup
	for i := range rings {
		wg.Go(func() { rings[i], errs[i] = token.NewKeyRing(context.Background(), store, cfg) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	maintainAll := func() {
		for _, r := range rings {
			if err := r.Maintain(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	maintainAll()
	if a, b := signingKid(t, rings[0]), signingKid(t, rings[1]); a != b {
		t.Fatalf("after start, replicas sign with %s and %s; want the same key", a, b)
	}

	// Both create the next key concurrently.
	clock.Advance(23*time.Hour + 30*time.Minute)
	for _, r := range rings {
		wg.Go(func() { _ = r.Maintain(context.Background()) })
	}
	wg.Wait()
	maintainAll()
	clock.Advance(time.Hour)
	if a, b := signingKid(t, rings[0]), signingKid(t, rings[1]); a != b {
		t.Fatalf("after rotation, replicas sign with %s and %s; want the same key", a, b)
	}
	if n := len(store.records()); n > 4 {
		t.Errorf("store holds %d keys; want at most 4", n)
	}
	iss, _ := pair(t, rings[0], clock.Now)
	_, v := pair(t, rings[1], clock.Now)
	raw, _, _ := iss.IssueAccess("u", "s", clock.Now())
	if _, err := v.Verify(raw, token.TypeAccess); err != nil {
		t.Errorf("token of replica 0 on replica 1: %v", err)
	}
}

func TestKeyRingReloadsOnUnknownKid(t *testing.T) {
	store := &memKeyStore{}
	ring := newRing(t, store, token.KeyRingConfig{MaintainEvery: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ring.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	// Another replica's key appears in the store.
	other := &memKeyStore{}
	otherRing := newRing(t, other, token.KeyRingConfig{})
	if err := store.PutKey(ctx, other.records()[0]); err != nil {
		t.Fatal(err)
	}
	iss, _ := pair(t, otherRing, nil)
	_, v := pair(t, ring, nil)
	raw, _, _ := iss.IssueAccess("u", "s", time.Time{})
	if _, err := v.Verify(raw, token.TypeAccess); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("first Verify = %v; want ErrUnknownKey (no I/O on the request path)", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(raw, token.TypeAccess)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key of another replica still unknown: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeyRingSealed(t *testing.T) {
	secret := []byte("a key-encryption secret of 32 by")
	store := &memKeyStore{}
	ring := newRing(t, store, token.KeyRingConfig{KeyEncryptionSecret: secret})
	rec := store.records()[0]
	if !rec.Sealed {
		t.Fatalf("record Sealed = false; want true")
	}
	if _, err := x509.ParsePKCS8PrivateKey(rec.Private); err == nil {
		t.Fatalf("sealed record holds a parseable private key")
	}

	again := newRing(t, store, token.KeyRingConfig{KeyEncryptionSecret: secret})
	if a, b := signingKid(t, ring), signingKid(t, again); a != b {
		t.Fatalf("reloaded ring signs with %s; want %s", b, a)
	}
	iss, _ := pair(t, again, nil)
	_, v := pair(t, ring, nil)
	raw, _, _ := iss.IssueAccess("u", "s", time.Time{})
	if _, err := v.Verify(raw, token.TypeAccess); err != nil {
		t.Errorf("token signed with unsealed key: %v", err)
	}

	tests := []struct {
		name   string
		secret []byte
		want   error
	}{
		{"no secret", nil, token.ErrKeySealed},
		{"wrong secret", []byte("another secret, also 32 bytes..."), token.ErrKeyUnseal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := token.NewKeyRing(context.Background(), store, token.KeyRingConfig{
				KeyEncryptionSecret: tt.secret, Logger: discardLogger()})
			if !errors.Is(err, tt.want) {
				t.Errorf("NewKeyRing = %v; want %v", err, tt.want)
			}
		})
	}

	// A sealed blob moved to another record does not open.
	moved := store.records()[0]
	moved.ID = "other-kid"
	swapped := &memKeyStore{recs: []token.KeyRecord{moved}}
	if _, err := token.NewKeyRing(context.Background(), swapped, token.KeyRingConfig{
		KeyEncryptionSecret: secret, Logger: discardLogger()}); !errors.Is(err, token.ErrKeyUnseal) {
		t.Errorf("sealed key under another kid: %v; want ErrKeyUnseal", err)
	}
}

func TestKeyRingStoreFailure(t *testing.T) {
	store := &memKeyStore{fail: errors.New("database is down")}
	if _, err := token.NewKeyRing(context.Background(), store, token.KeyRingConfig{Logger: discardLogger()}); err == nil {
		t.Fatal("NewKeyRing with a failing store: got nil error")
	}
	store.fail = nil
	ring := newRing(t, store, token.KeyRingConfig{})
	kid := signingKid(t, ring)
	store.mu.Lock()
	store.fail = errors.New("database is down")
	store.mu.Unlock()
	if err := ring.Maintain(context.Background()); err == nil {
		t.Error("Maintain with a failing store: got nil error")
	}
	if got := signingKid(t, ring); got != kid {
		t.Errorf("after failed Maintain, signing kid = %s; want %s", got, kid)
	}
}

func TestKeyRingConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  token.KeyRingConfig
	}{
		{"unknown algorithm", token.KeyRingConfig{Algorithm: "HS256"}},
		{"prepublish >= rotate", token.KeyRingConfig{RotateEvery: time.Hour, PrePublish: time.Hour}},
		{"short secret", token.KeyRingConfig{KeyEncryptionSecret: []byte("short")}},
		{"negative", token.KeyRingConfig{AccessTokenTTL: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = discardLogger()
			if _, err := token.NewKeyRing(context.Background(), &memKeyStore{}, tt.cfg); !errors.Is(err, token.ErrInvalidConfig) {
				t.Errorf("NewKeyRing = %v; want ErrInvalidConfig", err)
			}
		})
	}
}

func TestKeyRecordHasNoPlainPrivateKeyInJWKS(t *testing.T) {
	store := &memKeyStore{}
	ring := newRing(t, store, token.KeyRingConfig{})
	raw, _ := ring.JWKS()
	if bytes.Contains(raw, []byte(`"d"`)) {
		t.Errorf("JWKS contains private member d: %s", raw)
	}
}
