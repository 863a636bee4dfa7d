package token_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
)

// memKeyStore is an in-memory token.KeyStore shared by simulated replicas.
type memKeyStore struct {
	mu   sync.Mutex
	recs []token.KeyRecord
	fail error // returned by Keys and PutKey when set
}

func (s *memKeyStore) Keys(ctx context.Context) ([]token.KeyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	return slices.Clone(s.recs), nil
}

func (s *memKeyStore) PutKey(ctx context.Context, rec token.KeyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, r := range s.recs {
		if r.ID == rec.ID {
			return fmt.Errorf("memKeyStore: duplicate key %s", rec.ID)
		}
	}
	s.recs = append(s.recs, rec)
	return nil
}

func (s *memKeyStore) records() []token.KeyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs)
}

var _ token.KeyStore = (*memKeyStore)(nil)

// fakeClock is a settable clock whose After channels fire when Advance
// reaches their deadline.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []clockWaiter
}

// clockWaiter is a pending After.
type clockWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// After is time.After on the fake time.
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
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
func (c *fakeClock) Waiting(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(c.t.Add(d)) {
			return true
		}
	}
	return false
}

func (c *fakeClock) Advance(d time.Duration) {
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

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testSecret is an HS256 secret long enough for every JOSE library.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// keySource is what every test key source provides.
type keySource interface {
	token.Signer
	token.VerificationKeys
	token.JWKSSource
}

// newKeySource returns a key source for alg: HMACKeys for HS256, otherwise a
// KeyRing over a fresh in-memory store.
func newKeySource(t testing.TB, alg string, clock func() time.Time) keySource {
	t.Helper()
	if alg == token.AlgHS256 {
		k, err := token.NewHMACKeys(testSecret)
		if err != nil {
			t.Fatalf("NewHMACKeys: %v", err)
		}
		return k
	}
	r, err := token.NewKeyRing(context.Background(), &memKeyStore{}, token.KeyRingConfig{
		Algorithm: alg, Clock: clock, Logger: discardLogger(),
	})
	if err != nil {
		t.Fatalf("NewKeyRing(%s): %v", alg, err)
	}
	return r
}

// pair returns an Issuer and a Verifier over the same keys.
func pair(t testing.TB, keys keySource, clock func() time.Time) (*token.Issuer, *token.Verifier) {
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

var allAlgs = []string{token.AlgHS256, token.AlgEdDSA, token.AlgES256, token.AlgRS256}
