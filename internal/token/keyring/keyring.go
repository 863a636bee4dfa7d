package keyring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/internal/refetch"
	"github.com/authmesh/authmesh/internal/token/jwks"
)

// KeyStore persists signing keys. Several auth-service replicas share one
// store; internal/store implements it on SQLite and PostgreSQL.
type KeyStore interface {
	// Keys returns every stored key, in any order. Records whose
	// PublishUntil has passed may be omitted or deleted by the store.
	Keys(ctx context.Context) ([]KeyRecord, error)
	// PutKey stores a new key. Keys are never updated in place: the ring
	// only ever adds records with fresh kids. A store may refuse a duplicate
	// kid with an error; the ring then reloads and converges.
	PutKey(ctx context.Context, rec KeyRecord) error
}

// Ring defaults.
const (
	DefaultAlgorithm     = token.AlgEdDSA
	DefaultRotateEvery   = 30 * 24 * time.Hour
	DefaultPrePublish    = time.Hour
	DefaultSkew          = 5 * time.Minute
	DefaultMaintainEvery = time.Minute
	// minReloadInterval bounds reloads triggered by unknown kids.
	minReloadInterval = 10 * time.Second
)

// Config configures a Ring. The zero value of every field is a
// usable default.
type Config struct {
	// Algorithm of new keys: "EdDSA" (default), "ES256" or "RS256". Keys of
	// another algorithm already in the store keep signing until rotation.
	Algorithm string
	// RotateEvery is how long one key signs (default 30 days).
	RotateEvery time.Duration
	// PrePublish is how long a new key is in the JWKS before it signs, so
	// every validator has fetched it by then (default 1h; must exceed the
	// JWKS cache max-age plus the validators' refresh interval).
	PrePublish time.Duration
	// AccessTokenTTL and RefreshTokenTTL (defaults 15m and 360h) bound how
	// long a retired key stays published: until the last token it signed
	// has expired, plus ClockSkew.
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// ClockSkew is added to a retired key's publication (default 5m; keep it
	// above the verifiers' clock skew).
	ClockSkew time.Duration
	// KeyEncryptionSecret, when set (at least 16 bytes), seals private keys
	// at rest with AES-256-GCM under a key derived by HKDF-SHA256.
	KeyEncryptionSecret []byte
	// MaintainEvery is how often Run calls Maintain (default 1m).
	MaintainEvery time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives rotation events and errors (default slog.Default()).
	Logger *slog.Logger
}

// Ring is the asymmetric key source of the auth service: rotating signing
// keys kept in a KeyStore shared by all replicas, published as JWKS ahead of
// use and after retirement. Reads (SigningKey, VerificationKey, JWKS) use an
// atomic snapshot and never block on I/O. Safe for concurrent use.
type Ring struct {
	store  KeyStore
	cfg    Config
	sealer *sealer
	state  atomic.Pointer[ringState]
	mu     sync.Mutex    // serialises Maintain
	reload *refetch.Loop // Run's loop; poked when an unknown kid is seen
}

var (
	_ token.Signer           = (*Ring)(nil)
	_ token.VerificationKeys = (*Ring)(nil)
)

// ringState is an immutable snapshot of the loaded keys.
type ringState struct {
	keys []*ringKey // SignFrom descending, then kid ascending
	byID map[string]*ringKey
}

// New loads the keys of store and, if none can sign now (first start),
// generates one that signs immediately. It fails if the store is unreachable
// or a key that may still sign cannot be loaded (for example a sealed key
// without KeyEncryptionSecret: ErrKeySealed).
func New(ctx context.Context, store KeyStore, cfg Config) (*Ring, error) {
	if store == nil {
		return nil, invalidConfig("key ring needs a KeyStore")
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	r := &Ring{store: store, cfg: cfg}
	r.reload = refetch.New(refetch.Config{
		Do: r.Maintain,
		OnError: func(err error) {
			cfg.Logger.Error("keyring: maintenance failed", "err", err)
		},
		Every:  func() time.Duration { return cfg.MaintainEvery },
		MinGap: minReloadInterval,
	})
	if len(cfg.KeyEncryptionSecret) > 0 {
		s, err := newSealer(cfg.KeyEncryptionSecret)
		if err != nil {
			return nil, err
		}
		r.sealer = s
	}
	if cfg.PrePublish < 3*DefaultJWKSMaxAge {
		cfg.Logger.Warn("keyring: key PrePublish is short; validators may see new keys late",
			"pre_publish", cfg.PrePublish)
	}
	r.state.Store(&ringState{byID: map[string]*ringKey{}})
	if err := r.Maintain(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *Config) fill() error {
	c.Algorithm = cmp.Or(c.Algorithm, DefaultAlgorithm)
	c.RotateEvery = cmp.Or(c.RotateEvery, DefaultRotateEvery)
	c.PrePublish = cmp.Or(c.PrePublish, DefaultPrePublish)
	c.AccessTokenTTL = cmp.Or(c.AccessTokenTTL, token.DefaultAccessTokenTTL)
	c.RefreshTokenTTL = cmp.Or(c.RefreshTokenTTL, token.DefaultRefreshTokenTTL)
	c.ClockSkew = cmp.Or(c.ClockSkew, DefaultSkew)
	c.MaintainEvery = cmp.Or(c.MaintainEvery, DefaultMaintainEvery)
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.Algorithm != token.AlgEdDSA && c.Algorithm != token.AlgES256 && c.Algorithm != token.AlgRS256:
		return invalidConfig("key algorithm %q (want EdDSA, ES256 or RS256)", c.Algorithm)
	case c.RotateEvery < 0 || c.PrePublish < 0 || c.AccessTokenTTL < 0 || c.RefreshTokenTTL < 0 ||
		c.ClockSkew < 0 || c.MaintainEvery < 0:
		return invalidConfig("negative key ring duration")
	case c.PrePublish >= c.RotateEvery:
		return invalidConfig("PrePublish %v must be shorter than RotateEvery %v", c.PrePublish, c.RotateEvery)
	case len(c.KeyEncryptionSecret) > 0 && len(c.KeyEncryptionSecret) < 16:
		return invalidConfig("KeyEncryptionSecret shorter than 16 bytes")
	}
	return nil
}

// retention is how long a key stays published after it stops signing.
func (r *Ring) retention() time.Duration {
	return max(r.cfg.AccessTokenTTL, r.cfg.RefreshTokenTTL) + r.cfg.ClockSkew
}

// SigningKey returns the key that signs now: among keys whose signing window
// contains now, the one with the latest SignFrom (ties: smallest kid), so all
// replicas that loaded the same records pick the same key.
func (r *Ring) SigningKey() (token.SigningKey, error) {
	if k := r.state.Load().signingAt(r.cfg.Clock()); k != nil {
		return k.signer, nil
	}
	return nil, token.ErrNoSigningKey
}

func (s *ringState) signingAt(now time.Time) *ringKey {
	for _, k := range s.keys {
		if k.signer != nil && !now.Before(k.meta.SignFrom) && now.Before(k.meta.SignUntil) {
			return k
		}
	}
	return nil
}

// VerificationKey returns the public key named by kid while it is published.
// An unknown kid asks Run to reload the store soon (another replica may have
// created the key), without blocking.
func (r *Ring) VerificationKey(kid, alg string) (any, error) {
	k := r.state.Load().byID[kid]
	if k == nil || !r.cfg.Clock().Before(k.meta.PublishUntil) {
		r.reload.Poke()
		return nil, token.ErrUnknownKey
	}
	if alg != k.meta.Algorithm {
		return nil, token.ErrAlgorithm
	}
	return k.pub, nil
}

// Algorithms returns the asymmetric algorithms a Ring may hold.
func (r *Ring) Algorithms() []string { return token.AsymmetricAlgorithms() }

// PublishedAlgorithms returns, sorted, the algorithms of the keys published
// now (those JWKS lists): the algorithms a token this ring signed and still
// valid can carry. After SIGNING_ALG changes, the old algorithm stays until
// its keys are no longer published, and the new one appears with its first
// key.
func (r *Ring) PublishedAlgorithms() []string {
	now := r.cfg.Clock()
	var algs []string
	for _, k := range r.state.Load().keys {
		if now.Before(k.meta.PublishUntil) && !slices.Contains(algs, k.meta.Algorithm) {
			algs = append(algs, k.meta.Algorithm)
		}
	}
	slices.Sort(algs)
	return algs
}

// JWKSMaxAge is the Cache-Control max-age of the ring's JWKS: at most a
// quarter of PrePublish, and DefaultJWKSMaxAge.
func (r *Ring) JWKSMaxAge() time.Duration { return min(DefaultJWKSMaxAge, r.cfg.PrePublish/4) }

// JWKS returns the public keys published now: keys created and not yet past
// PublishUntil, including the next key before it signs.
func (r *Ring) JWKS() ([]byte, error) {
	now := r.cfg.Clock()
	var keys []jwks.Key
	for _, k := range r.state.Load().keys {
		if now.Before(k.meta.PublishUntil) {
			keys = append(keys, jwks.Key{KeyID: k.meta.KeyID, Public: k.pub})
		}
	}
	return jwks.Marshal(keys)
}

// Run calls Maintain every MaintainEvery, and soon after an unknown kid was
// looked up (at most every 10s), until ctx is done; then it returns
// ctx.Err(). Errors are logged; the ring keeps its last good keys.
func (r *Ring) Run(ctx context.Context) error { return r.reload.Run(ctx) }

// Maintain reloads the store and does rotation housekeeping: it creates a
// key that signs now if none does, creates the next key PrePublish before the
// current one retires, and forgets keys past PublishUntil. Replicas sharing
// the store converge: each picks the same signing key from the same records,
// and a key created concurrently by two replicas is harmless (both are
// published; one signs).
func (r *Ring) Maintain(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Clock()
	st, err := r.load(ctx, now)
	if err != nil {
		return err
	}
	if r.needsKey(st, now) {
		// Create under the store's lock when it has one, re-reading first:
		// replicas starting together then create one key, not one each.
		if l, ok := r.store.(KeyLocker); ok {
			unlock, err := l.LockKeys(ctx)
			if err != nil {
				return fmt.Errorf("keyring: lock keys: %w", err)
			}
			defer unlock()
			if st, err = r.load(ctx, now); err != nil {
				return err
			}
		}
	}
	created := false
	if st.signingAt(now) == nil {
		if err := r.create(ctx, now, now); err != nil {
			return err
		}
		created = true
	} else if latest := st.latestSignUntil(); !now.Before(latest.Add(-r.cfg.PrePublish)) {
		if err := r.create(ctx, now, latest); err != nil {
			return err
		}
		created = true
	}
	if created {
		// Reload rather than add locally: another replica may have created
		// a key at the same time, and all replicas must choose alike.
		if st, err = r.load(ctx, now); err != nil {
			return err
		}
		if st.signingAt(now) == nil {
			return fmt.Errorf("%w after creating one", token.ErrNoSigningKey)
		}
	}
	r.state.Store(st)
	return nil
}

// needsKey reports whether Maintain would create a key: none signs now, or
// the current ones retire within PrePublish.
func (r *Ring) needsKey(st *ringState, now time.Time) bool {
	return st.signingAt(now) == nil || !now.Before(st.latestSignUntil().Add(-r.cfg.PrePublish))
}

// KeyLocker is implemented by key stores shared by several processes:
// LockKeys holds a lock across them until unlock is called, so that key
// creation is serialised.
type KeyLocker interface {
	LockKeys(ctx context.Context) (unlock func(), err error)
}

// create stores a new key that signs from signFrom for RotateEvery.
func (r *Ring) create(ctx context.Context, now, signFrom time.Time) error {
	signUntil := signFrom.Add(r.cfg.RotateEvery)
	rec, _, err := newKeyRecord(r.cfg.Algorithm, keyTimes{
		created: now, signFrom: signFrom, signUntil: signUntil,
		publishUntil: signUntil.Add(r.retention()),
	}, r.sealer)
	if err != nil {
		return err
	}
	if err := r.store.PutKey(ctx, rec); err != nil {
		return fmt.Errorf("keyring: store new key: %w", err)
	}
	r.cfg.Logger.Info("keyring: created signing key", "kid", rec.KeyID, "alg", rec.Algorithm,
		"sign_from", rec.SignFrom, "sign_until", rec.SignUntil)
	return nil
}

// load reads the store into a snapshot of the keys still published at now.
// Keys that may still sign are loaded with their private key; failing to
// unseal one is an error (misconfiguration), other broken records are
// logged and skipped.
func (r *Ring) load(ctx context.Context, now time.Time) (*ringState, error) {
	recs, err := r.store.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: load keys: %w", err)
	}
	st := &ringState{byID: make(map[string]*ringKey, len(recs))}
	for _, rec := range recs {
		if !now.Before(rec.PublishUntil) {
			continue
		}
		if _, dup := st.byID[rec.KeyID]; dup {
			continue
		}
		k, err := loadKeyRecord(rec, r.sealer, now.Before(rec.SignUntil))
		if errors.Is(err, ErrKeySealed) || errors.Is(err, ErrKeyUnseal) {
			return nil, err
		}
		if err != nil {
			r.cfg.Logger.Error("keyring: skipping unusable stored key", "kid", rec.KeyID, "err", err)
			continue
		}
		st.keys = append(st.keys, k)
		st.byID[rec.KeyID] = k
	}
	slices.SortFunc(st.keys, func(a, b *ringKey) int {
		if c := b.meta.SignFrom.Compare(a.meta.SignFrom); c != 0 {
			return c
		}
		return cmp.Compare(a.meta.KeyID, b.meta.KeyID)
	})
	return st, nil
}

// latestSignUntil is the end of the last signing window already planned.
func (s *ringState) latestSignUntil() time.Time {
	var t time.Time
	for _, k := range s.keys {
		if k.meta.SignUntil.After(t) {
			t = k.meta.SignUntil
		}
	}
	return t
}
