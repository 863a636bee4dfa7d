// Package tokentest provides the fixtures tests share to make tokens: an
// in-memory key store, a steppable clock, key sources of every algorithm,
// and an HS256 issuer. Only tests import it.
package tokentest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/keyring"
)

// MemKeyStore is an in-memory keyring.KeyStore shared by simulated
// replicas. The zero value is an empty store. Safe for concurrent use.
type MemKeyStore struct {
	mu   sync.Mutex
	recs []keyring.KeyRecord
	fail error // returned by Keys and PutKey when set
}

var _ keyring.KeyStore = (*MemKeyStore)(nil)

// NewMemKeyStore returns a store holding recs.
func NewMemKeyStore(recs ...keyring.KeyRecord) *MemKeyStore {
	return &MemKeyStore{recs: slices.Clone(recs)}
}

// Keys returns the stored records, or the error set by SetFail.
func (s *MemKeyStore) Keys(ctx context.Context) ([]keyring.KeyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	return slices.Clone(s.recs), nil
}

// PutKey adds rec, refusing a duplicate KeyID, or returns the error set by
// SetFail.
func (s *MemKeyStore) PutKey(ctx context.Context, rec keyring.KeyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, r := range s.recs {
		if r.KeyID == rec.KeyID {
			return fmt.Errorf("memKeyStore: duplicate key %s", rec.KeyID)
		}
	}
	s.recs = append(s.recs, rec)
	return nil
}

// Records returns the stored records, ignoring SetFail.
func (s *MemKeyStore) Records() []keyring.KeyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs)
}

// SetFail makes Keys and PutKey return err (nil: work again).
func (s *MemKeyStore) SetFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// UpdatableStore is a MemKeyStore that can also update a key's times.
type UpdatableStore struct{ *MemKeyStore }

var _ keyring.KeyUpdater = UpdatableStore{}

// UpdateKey stores rec's SignFrom, SignUntil and PublishUntil.
func (s UpdatableStore) UpdateKey(ctx context.Context, rec keyring.KeyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.recs {
		if r.KeyID == rec.KeyID {
			s.recs[i].SignFrom, s.recs[i].SignUntil, s.recs[i].PublishUntil = rec.SignFrom, rec.SignUntil, rec.PublishUntil
			return nil
		}
	}
	return errors.New("updatableStore: no such key")
}

// FakeClock is a settable clock whose After channels fire when Advance
// reaches their deadline. Safe for concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []clockWaiter
}

// clockWaiter is a pending After.
type clockWaiter struct {
	at time.Time
	c  chan time.Time
}

// NewFakeClock returns a clock standing at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// After is time.After on the fake time.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{at: c.t.Add(d), c: ch})
	return ch
}

// Waiting reports whether someone waits for the fake time to reach now+d.
func (c *FakeClock) Waiting(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(c.t.Add(d)) {
			return true
		}
	}
	return false
}

// Advance moves the fake time forward by d and fires the After channels
// whose deadline it reaches.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	pending := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.t) {
			pending = append(pending, w)
			continue
		}
		w.c <- c.t
	}
	c.waiters = pending
}

// Secret is an HS256 secret long enough for every JOSE library.
var Secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// AllAlgs lists every algorithm a key source may sign with.
var AllAlgs = []string{token.AlgHS256, token.AlgEdDSA, token.AlgES256, token.AlgRS256}

// KeySource is what every test key source provides.
type KeySource interface {
	token.Signer
	token.VerificationKeys
	keyring.JWKSSource
}

// NewKeySource returns a key source for alg: HMACKeys for HS256, otherwise a
// keyring.Ring over a fresh in-memory store logging to logger.
func NewKeySource(t testing.TB, alg string, clock func() time.Time, logger *slog.Logger) KeySource {
	t.Helper()
	if alg == token.AlgHS256 {
		k, err := token.NewHMACKeys(Secret)
		if err != nil {
			t.Fatalf("NewHMACKeys: %v", err)
		}
		return k
	}
	r, err := keyring.New(context.Background(), &MemKeyStore{}, keyring.Config{Algorithm: alg, Clock: clock, Logger: logger})
	if err != nil {
		t.Fatalf("NewKeyRing(%s): %v", alg, err)
	}
	return r
}

// Pair returns an Issuer and a Verifier over the same keys, with audience
// "api".
func Pair(t testing.TB, keys KeySource, clock func() time.Time) (*token.Issuer, *token.Verifier) {
	t.Helper()
	iss, err := token.NewIssuer(keys, token.IssuerConfig{Audience: []string{"api"}, Clock: clock})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	v, err := token.NewVerifier(keys, token.VerifierConfig{Audience: "api", Clock: clock})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return iss, v
}

// SigningKid returns the kid s signs with now.
func SigningKid(t testing.TB, s token.Signer) string {
	t.Helper()
	k, err := s.SigningKey()
	if err != nil {
		t.Fatalf("SigningKey: %v", err)
	}
	return k.KeyID()
}

// HMACIssuer returns an Issuer signing HS256 tokens with secret, as the
// auth service does in JWT_SECRET mode.
func HMACIssuer(t testing.TB, secret string, cfg token.IssuerConfig) *token.Issuer {
	t.Helper()
	keys, err := token.NewHMACKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewIssuer(keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}
