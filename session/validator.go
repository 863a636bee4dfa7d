package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/redisconn"
	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/jwks"
)

// syncer keeps a revoke.Set current from some transport.
type syncer interface {
	Run(ctx context.Context) error
	Status() revoke.Status
}

// cachedToken is a verified token remembered by its exact string. Its
// claims never leave the cache: callers get a clone.
type cachedToken struct {
	claims *Claims
	kid    string        // the signing key's kid, checked against key revocations
	until  time.Duration // min(exp + skew, cached-at + cache TTL), on the validator's clock (see elapsed)
	keys   revoke.TokenKeys
}

// SessionValidator validates tokens locally against a revocation set kept in
// sync in the background. It is safe for concurrent use. Close releases its
// resources.
type SessionValidator struct {
	cfg      Config
	verifier *token.Verifier
	revoked  *revoke.Set
	sync     syncer           // nil when there is no revocation source
	remote   *jwks.RemoteKeys // nil unless keys come from AuthURL
	cache    *tokenCache
	rdb      redis.UniversalClient // owned, closed by Close; nil otherwise
	metrics  *metrics
	watches  *watchRegistry // long-lived requests to cancel at revocation
	// clock is Config.Clock when the caller set one; nil means the
	// validator reads the monotonic clock against epoch (see elapsed).
	clock func() time.Time
	epoch time.Time

	keysReady atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// NewSessionValidator builds a validator from cfg and starts keeping its
// revocation state in sync; call Close when done. It returns an error for an
// invalid configuration, including ErrNoRevocationSource for a JWTSecret
// without Redis or AuthURL (unless Config.IgnoreRevocations); it does not
// wait for Redis or the auth service (until their first answer the
// validator reports ErrNotReady).
func NewSessionValidator(cfg Config) (*SessionValidator, error) {
	clock := cfg.Clock
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &SessionValidator{cfg: cfg, revoked: revoke.NewSet(), done: make(chan struct{}), metrics: &metrics{}, clock: clock}
	v.epoch = cfg.Clock()
	v.cache = newTokenCache(cfg.CacheSize)
	v.watches = newWatchRegistry(v.revoked)
	v.revoked.Observe(v.watches.notify)

	var keys token.VerificationKeys
	if cfg.JWTSecret != "" {
		if keys, err = token.NewHMACKeys([]byte(cfg.JWTSecret)); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		v.keysReady.Store(true)
	} else {
		first, alternates := cfg.authURLs(jwks.Path)
		v.remote, err = jwks.NewRemoteKeys(jwks.Config{
			URL: first, AlternateURLs: alternates, HTTPClient: cfg.HTTPClient,
			Logger: cfg.Logger, Clock: cfg.Clock,
		})
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		keys = v.remote
	}
	v.verifier, err = token.NewVerifier(keys, token.VerifierConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, ClockSkew: cfg.ClockSkew, Clock: cfg.Clock,
		MaxTokenLifetime: cfg.MaxTokenLifetime,
	})
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}

	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(v.Collector()); err != nil {
			return nil, fmt.Errorf("session: register metrics: %w", err)
		}
	}
	if err := v.newSyncer(); err != nil {
		v.closeRedis()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	go v.run(ctx)
	return v, nil
}

// newSyncer picks the revocation transport: Redis when configured, else the
// auth service's feed when AuthURL is set, else none.
func (v *SessionValidator) newSyncer() error {
	cfg := v.cfg
	var err error
	switch {
	case cfg.RedisClient != nil || cfg.RedisAddr != "":
		rdb := cfg.RedisClient
		if rdb == nil {
			rdb = redisconn.New(redisconn.Config{
				Addrs: redisconn.SplitAddrs(cfg.RedisAddr), Password: cfg.RedisPassword, DB: cfg.RedisDB,
				MasterName: cfg.RedisMasterName,
			})
			v.rdb = rdb
		}
		v.sync, err = redissync.New(v.revoked, rdb, redissync.Config{
			Prefix: cfg.RedisPrefix, Issuer: cfg.Issuer, Audience: cfg.Audience, Clock: cfg.Clock, Logger: cfg.Logger,
		})
	case cfg.AuthURL != "":
		first, alternates := cfg.authURLs(feedwire.Path)
		v.sync, err = feedsync.New(v.revoked, feedsync.Config{
			URL: first, AlternateURLs: alternates, HTTPClient: cfg.HTTPClient, Token: cfg.FeedToken,
			Issuer: cfg.Issuer, Audience: cfg.Audience, Clock: cfg.Clock, Logger: cfg.Logger,
		})
	default: // IgnoreRevocations, checked by withDefaults
		cfg.Logger.Warn("session: IgnoreRevocations: no Redis and no AuthURL configured: revocations (logout) will not be seen; tokens stay valid until they expire")
	}
	if err != nil {
		return fmt.Errorf("session: revocation sync: %w", err)
	}
	return nil
}

// run owns the background goroutines: revocation sync and key refresh.
func (v *SessionValidator) run(ctx context.Context) {
	defer close(v.done)
	var wg sync.WaitGroup
	if v.sync != nil {
		wg.Add(1)
		go func() { defer wg.Done(); _ = v.sync.Run(ctx) }()
	}
	if v.remote != nil {
		wg.Add(1)
		go func() { defer wg.Done(); v.runKeys(ctx) }()
	}
	wg.Wait()
}

// runKeys fetches the JWKS until it succeeds once, then refreshes it.
func (v *SessionValidator) runKeys(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		err := v.remote.Start(ctx)
		if err == nil {
			v.keysReady.Store(true)
			_ = v.remote.Run(ctx) // returns when ctx is done
			return
		}
		v.cfg.Logger.Warn("session: fetching signing keys failed; retrying", "auth_url", v.cfg.AuthURL, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// SubscribeToInvalidations blocks until ctx is cancelled or the validator is
// closed. The revocation state is kept in sync from NewSessionValidator on;
// this method exists so that the quick start's `go
// v.SubscribeToInvalidations(ctx)` keeps working, and it returns ctx.Err()
// or nil after Close.
func (v *SessionValidator) SubscribeToInvalidations(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-v.done:
		return nil
	}
}

// Close stops background work, waits for it and releases connections it
// opened. It is safe to call more than once.
func (v *SessionValidator) Close() error {
	v.closeOnce.Do(func() {
		v.cancel()
		<-v.done
		v.closeRedis()
	})
	return nil
}

func (v *SessionValidator) closeRedis() {
	if v.rdb != nil {
		_ = v.rdb.Close()
	}
}

// ValidateAccessToken verifies an access token locally (signature, issuer,
// audience, type, lifetime) and checks it against the revocation state. It
// performs no I/O. The claims are the caller's own copy (see Claims); making
// it is the only allocation when the token's signature check is cached.
func (v *SessionValidator) ValidateAccessToken(raw string) (*Claims, error) {
	return v.validate(raw, token.TypeAccess, v.cfg.AccessTokenCacheTTL)
}

// ValidateRefreshToken verifies a refresh token locally and checks its
// device session against the revocation state. Only the auth service can
// tell whether it is the current token of its rotation chain.
func (v *SessionValidator) ValidateRefreshToken(raw string) (*Claims, error) {
	return v.validate(raw, token.TypeRefresh, v.cfg.RefreshTokenCacheTTL)
}

// validate is the request path. It writes no memory other requests
// write (see the "hot path" section of docs/ARCHITECTURE.md): the token
// cache and the revocation set are read without locks, the metrics are
// sharded, and the clock is read once.
func (v *SessionValidator) validate(raw, typ string, cacheTTL time.Duration) (*Claims, error) {
	c, err := v.check(raw, typ, cacheTTL)
	if err != nil {
		return nil, err
	}
	return c.clone(), nil
}

// check validates raw and counts the result. The claims it returns may be
// the cache's: callers hand out clones only.
func (v *SessionValidator) check(raw, typ string, cacheTTL time.Duration) (*Claims, error) {
	ct, err := v.validateAt(v.elapsed(), raw, typ, cacheTTL)
	v.metrics.observe(err)
	if err != nil {
		return nil, err
	}
	return ct.claims, nil
}

// elapsed is the time the request path validates at, as the time since
// the validator started (epoch): on Config.Clock when the caller set one,
// otherwise one read of the monotonic clock. Reading the wall clock as
// well would cost a second read on every request; it is read where it
// matters: the signature check compares exp, nbf and iat with
// Config.Clock, and a cached token's deadline is computed from that wall
// time and kept on this clock (verify). The revocation state's LastSync
// carries a monotonic reading too, so staleness is measured on the same
// clock (checkRevoked).
func (v *SessionValidator) elapsed() time.Duration {
	if v.clock != nil {
		return v.clock().Sub(v.epoch)
	}
	return time.Since(v.epoch)
}

// validateAt validates raw at now (see elapsed) and returns its verified
// token: its claims (possibly the cache's), the kid of its signing key
// and its revocation keys.
func (v *SessionValidator) validateAt(now time.Duration, raw, typ string, cacheTTL time.Duration) (*cachedToken, error) {
	var st revoke.Status
	if v.sync != nil {
		st = v.sync.Status()
		if !st.Ready && st.Problem != "" {
			// A problem that keeps the first Ready away (no layout marker,
			// another issuer or audience than the auth service's) answers
			// 503 with the reason in Health, before any token is looked at,
			// not a 401 for every token the mismatch makes look invalid.
			return nil, fmt.Errorf("%w: %s", ErrNotReady, st.Problem)
		}
	}
	ct, err := v.verify(now, raw, typ, cacheTTL)
	if err != nil {
		return nil, err
	}
	if err := v.checkRevoked(now, st, ct); err != nil {
		return nil, err
	}
	return ct, nil
}

// verify checks the token's signature and claims, using the cache of
// recently verified token strings, and returns the verified token (the
// cache's: the caller clones its claims).
func (v *SessionValidator) verify(now time.Duration, raw, typ string, cacheTTL time.Duration) (*cachedToken, error) {
	raw = trimSpace(raw)
	if raw == "" {
		return nil, ErrMissingToken
	}
	if e, ok := v.cache.get(raw); ok && e.claims.Type == typ {
		if now < e.until {
			return &e.cachedToken, nil
		}
		v.cache.remove(raw, e)
	}
	if !v.keysReady.Load() {
		return nil, ErrNotReady
	}
	tc, err := v.verifier.Verify(raw, typ)
	if err != nil {
		return nil, classify(err)
	}
	c, kid := claimsFrom(tc), token.KeyIDOf(raw)
	ct := &cachedToken{claims: c, kid: kid, keys: v.revoked.KeysOf(revoke.Token{
		ID: c.TokenID, SessionID: c.SessionID, Subject: c.UserID, KeyID: kid, IssuedAt: c.IssuedAt.Unix(),
	})}
	if cacheTTL > 0 {
		// The deadline is counted from now, on the validator's clock, and
		// the time left to exp from the wall clock the signature check
		// used.
		ct.until = now + min(cacheTTL, c.ExpiresAt.Add(v.cfg.ClockSkew).Sub(v.cfg.Clock()))
		v.cache.add(raw, *ct)
	}
	return ct, nil
}

// checkRevoked applies the revocation state and the staleness policy, with
// st the synchroniser's status. While the state holds an entry this
// version cannot interpret, it cannot tell which tokens are revoked, so it
// refuses them all.
func (v *SessionValidator) checkRevoked(now time.Duration, st revoke.Status, ct *cachedToken) error {
	if v.sync != nil {
		if !st.Ready {
			return ErrNotReady
		}
		if v.cfg.FailClosed && v.epoch.Add(now).Sub(st.LastSync) > v.cfg.MaxStaleness {
			return ErrStale
		}
	}
	if n, why := v.revoked.Unsupported(); n > 0 {
		return fmt.Errorf("%w: %s", ErrUnsupported, why)
	}
	if kind, ok := v.revoked.CheckKeys(&ct.keys); ok {
		return fmt.Errorf("%w (by %s)", ErrRevoked, kind)
	}
	return nil
}

// trimSpace is strings.TrimSpace with a shortcut for the usual token,
// which starts and ends with a printable ASCII character.
func trimSpace(s string) string {
	if n := len(s); n > 0 && s[0] > ' ' && s[0] < 0x7f && s[n-1] > ' ' && s[n-1] < 0x7f {
		return s
	}
	return strings.TrimSpace(s)
}

// IsUnavailable reports whether err says the validator cannot decide right
// now (ErrNotReady, ErrStale or ErrUnsupported) rather than that the token
// is bad: the HTTP middleware answers 503 and gRPC interceptors Unavailable.
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrNotReady) || errors.Is(err, ErrStale) || errors.Is(err, ErrUnsupported)
}
