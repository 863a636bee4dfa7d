package keyring_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/keyring"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRing(t *testing.T, store keyring.KeyStore, cfg keyring.Config) *keyring.Ring {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	r, err := keyring.New(context.Background(), store, cfg)
	if err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	return r
}

// jwksKids parses src's JWKS with go-jose and returns the kids in it.
func jwksKids(t *testing.T, src keyring.JWKSSource) []string {
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

func TestKeyRingRotation(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := tokentest.NewFakeClock(t0)
	store := &tokentest.MemKeyStore{}
	ring := newRing(t, store, keyring.Config{
		RotateEvery: 24 * time.Hour, PrePublish: time.Hour,
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 2 * time.Hour, ClockSkew: time.Minute,
		Clock: clock.Now,
	})
	iss, v := tokentest.Pair(t, ring, clock.Now)
	k0 := tokentest.SigningKid(t, ring)
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
	if got := tokentest.SigningKid(t, ring); got != k0 {
		t.Fatalf("signing kid before SignFrom = %s; want %s", got, k0)
	}
	clock.Advance(59 * time.Minute)
	lateAccess, _, _ := iss.IssueAccess("u", "s", clock.Now())
	lateRefresh, _, _ := iss.IssueRefresh("u", "s", 1, clock.Now(), clock.Now().Add(2*time.Hour))

	// 24h: the new key signs, with no maintenance needed.
	clock.Advance(time.Minute)
	k1 := tokentest.SigningKid(t, ring)
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
	clock := tokentest.NewFakeClock(t0)
	store := &tokentest.MemKeyStore{}
	cfg := keyring.Config{RotateEvery: 24 * time.Hour, Clock: clock.Now, Algorithm: token.AlgES256}

	// Two replicas start at once on an empty store.
	rings := make([]*keyring.Ring, 2)
	errs := make([]error, 2)
	cfg.Logger = discardLogger()
	var wg sync.WaitGroup
	for i := range rings {
		wg.Go(func() { rings[i], errs[i] = keyring.New(context.Background(), store, cfg) })
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
	if a, b := tokentest.SigningKid(t, rings[0]), tokentest.SigningKid(t, rings[1]); a != b {
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
	if a, b := tokentest.SigningKid(t, rings[0]), tokentest.SigningKid(t, rings[1]); a != b {
		t.Fatalf("after rotation, replicas sign with %s and %s; want the same key", a, b)
	}
	if n := len(store.Records()); n > 4 {
		t.Errorf("store holds %d keys; want at most 4", n)
	}
	iss, _ := tokentest.Pair(t, rings[0], clock.Now)
	_, v := tokentest.Pair(t, rings[1], clock.Now)
	raw, _, _ := iss.IssueAccess("u", "s", clock.Now())
	if _, err := v.Verify(raw, token.TypeAccess); err != nil {
		t.Errorf("token of replica 0 on replica 1: %v", err)
	}
}

func TestKeyRingReloadsOnUnknownKid(t *testing.T) {
	store := &tokentest.MemKeyStore{}
	ring := newRing(t, store, keyring.Config{MaintainEvery: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ring.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	// Another replica's key appears in the store.
	other := &tokentest.MemKeyStore{}
	otherRing := newRing(t, other, keyring.Config{})
	if err := store.PutKey(ctx, other.Records()[0]); err != nil {
		t.Fatal(err)
	}
	iss, _ := tokentest.Pair(t, otherRing, nil)
	_, v := tokentest.Pair(t, ring, nil)
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
	store := &tokentest.MemKeyStore{}
	ring := newRing(t, store, keyring.Config{KeyEncryptionSecret: secret})
	rec := store.Records()[0]
	if !rec.Sealed {
		t.Fatalf("record Sealed = false; want true")
	}
	if _, err := x509.ParsePKCS8PrivateKey(rec.Private); err == nil {
		t.Fatalf("sealed record holds a parseable private key")
	}

	again := newRing(t, store, keyring.Config{KeyEncryptionSecret: secret})
	if a, b := tokentest.SigningKid(t, ring), tokentest.SigningKid(t, again); a != b {
		t.Fatalf("reloaded ring signs with %s; want %s", b, a)
	}
	iss, _ := tokentest.Pair(t, again, nil)
	_, v := tokentest.Pair(t, ring, nil)
	raw, _, _ := iss.IssueAccess("u", "s", time.Time{})
	if _, err := v.Verify(raw, token.TypeAccess); err != nil {
		t.Errorf("token signed with unsealed key: %v", err)
	}

	tests := []struct {
		name   string
		secret []byte
		want   error
	}{
		{"no secret", nil, keyring.ErrKeySealed},
		{"wrong secret", []byte("another secret, also 32 bytes..."), keyring.ErrKeyUnseal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keyring.New(context.Background(), store, keyring.Config{
				KeyEncryptionSecret: tt.secret, Logger: discardLogger()})
			if !errors.Is(err, tt.want) {
				t.Errorf("NewKeyRing = %v; want %v", err, tt.want)
			}
		})
	}

	// A sealed blob moved to another record does not open.
	moved := store.Records()[0]
	moved.KeyID = "other-kid"
	swapped := tokentest.NewMemKeyStore(moved)
	if _, err := keyring.New(context.Background(), swapped, keyring.Config{
		KeyEncryptionSecret: secret, Logger: discardLogger()}); !errors.Is(err, keyring.ErrKeyUnseal) {
		t.Errorf("sealed key under another kid: %v; want ErrKeyUnseal", err)
	}
}

func TestKeyRingStoreFailure(t *testing.T) {
	store := &tokentest.MemKeyStore{}
	store.SetFail(errors.New("database is down"))
	if _, err := keyring.New(context.Background(), store, keyring.Config{Logger: discardLogger()}); err == nil {
		t.Fatal("NewKeyRing with a failing store: got nil error")
	}
	store.SetFail(nil)
	ring := newRing(t, store, keyring.Config{})
	kid := tokentest.SigningKid(t, ring)
	store.SetFail(errors.New("database is down"))
	if err := ring.Maintain(context.Background()); err == nil {
		t.Error("Maintain with a failing store: got nil error")
	}
	if got := tokentest.SigningKid(t, ring); got != kid {
		t.Errorf("after failed Maintain, signing kid = %s; want %s", got, kid)
	}
}

func TestKeyRingConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  keyring.Config
	}{
		{"unknown algorithm", keyring.Config{Algorithm: "HS256"}},
		{"prepublish >= rotate", keyring.Config{RotateEvery: time.Hour, PrePublish: time.Hour}},
		{"short secret", keyring.Config{KeyEncryptionSecret: []byte("short")}},
		{"negative", keyring.Config{AccessTokenTTL: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = discardLogger()
			if _, err := keyring.New(context.Background(), &tokentest.MemKeyStore{}, tt.cfg); !errors.Is(err, token.ErrInvalidConfig) {
				t.Errorf("NewKeyRing = %v; want ErrInvalidConfig", err)
			}
		})
	}
}

func TestKeyRecordHasNoPlainPrivateKeyInJWKS(t *testing.T) {
	store := &tokentest.MemKeyStore{}
	ring := newRing(t, store, keyring.Config{})
	raw, _ := ring.JWKS()
	if bytes.Contains(raw, []byte(`"d"`)) {
		t.Errorf("JWKS contains private member d: %s", raw)
	}
}
