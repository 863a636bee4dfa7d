package jwks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/internal/refetch"
)

// Path is where the auth service publishes its JWKS.
const Path = "/.well-known/jwks.json"

// RemoteKeys defaults.
const (
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefetchInterval = 10 * time.Second
	// maxJWKSSize bounds a fetched JWKS document.
	maxJWKSSize = 1 << 20
	// fetchTimeout bounds one JWKS request.
	fetchTimeout = 15 * time.Second
)

// Config configures RemoteKeys. Only URL is required.
type Config struct {
	// URL of the JWKS document, e.g. "http://auth:8080/.well-known/jwks.json".
	URL string
	// AlternateURLs are the same document at other replicas of the auth
	// service: a fetch that fails at one is tried at the next, and the
	// next fetch starts at the last that answered.
	AlternateURLs []string
	// HTTPClient fetches the JWKS (default: a client with a 15s timeout).
	HTTPClient *http.Client
	// RefreshInterval is how often Run refetches (default 5m).
	RefreshInterval time.Duration
	// MinRefetchInterval is the least time between two fetches triggered by
	// unknown kids, and the first retry delay after a failure (default 10s).
	MinRefetchInterval time.Duration
	// Logger receives fetch failures and skipped keys (default slog.Default()).
	Logger *slog.Logger
	// Clock timestamps refreshes and measures the time since the last
	// fetch (default time.Now).
	Clock func() time.Time
	// After schedules Run's waits: it returns a channel that receives once
	// d has passed on Clock (default time.After). Tests inject it together
	// with Clock to step time instead of sleeping.
	After func(d time.Duration) <-chan time.Time
}

// RemoteKeys is a JWKS client: the verification keys of a validator that
// trusts the auth service's published keys. VerificationKey never does I/O:
// an unknown kid fails with ErrUnknownKey and asks Run for a rate-limited
// background refetch, so a key published after the last refresh is trusted
// shortly after. A failed refresh keeps the last good set; a key removed from
// the JWKS stops being trusted after the next successful refresh. JWKs with
// unsupported kty/crv/alg, a use other than "sig", private material, no kid,
// or key members not in their canonical encoding are ignored one by one
// (see parseJWKS). Safe for concurrent use.
type RemoteKeys struct {
	cfg    Config
	urls   []string     // URL, then AlternateURLs
	good   atomic.Int64 // index in urls of the last that answered
	set    atomic.Pointer[remoteSet]
	reload *refetch.Loop // Run's loop; poked when an unknown kid is looked up
	fails  atomic.Int64  // consecutive failed fetches
}

var _ token.VerificationKeys = (*RemoteKeys)(nil)

// remoteSet is an immutable snapshot of the trusted keys.
type remoteSet struct {
	byID    map[string]verificationKey
	fetched time.Time
}

// NewRemoteKeys validates cfg. It does no I/O: call Start, then Run.
func NewRemoteKeys(cfg Config) (*RemoteKeys, error) {
	urls := append([]string{cfg.URL}, cfg.AlternateURLs...)
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: JWKS URL %q must be an absolute http(s) URL", token.ErrInvalidConfig, raw)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, DefaultRefreshInterval)
	cfg.MinRefetchInterval = cmp.Or(cfg.MinRefetchInterval, DefaultMinRefetchInterval)
	if cfg.RefreshInterval < 0 || cfg.MinRefetchInterval < 0 {
		return nil, fmt.Errorf("%w: negative JWKS refresh interval", token.ErrInvalidConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	r := &RemoteKeys{cfg: cfg, urls: urls}
	r.reload = refetch.New(refetch.Config{
		Do: r.Refresh,
		OnError: func(err error) {
			cfg.Logger.Warn("jwks: refresh failed; keeping the last good keys", "url", cfg.URL, "err", err)
		},
		Every:   r.nextDelay,
		MinGap:  cfg.MinRefetchInterval,
		JustRan: true, // Start has just fetched
		Now:     cfg.Clock,
		After:   cfg.After,
	})
	r.set.Store(&remoteSet{})
	return r, nil
}

// Start does the first fetch and returns its error, so the caller can retry
// or report; until a fetch succeeds no key is trusted.
func (r *RemoteKeys) Start(ctx context.Context) error { return r.Refresh(ctx) }

// Refresh fetches the JWKS now and, if it is usable, replaces the trusted
// set. On error the previous set is kept.
func (r *RemoteKeys) Refresh(ctx context.Context) error {
	set, err := r.fetch(ctx)
	if err != nil {
		r.fails.Add(1)
		return err
	}
	r.fails.Store(0)
	r.set.Store(set)
	return nil
}

// LastRefresh is when the trusted set was last fetched successfully (zero
// before the first success).
func (r *RemoteKeys) LastRefresh() time.Time { return r.set.Load().fetched }

// VerificationKey returns the trusted key named by kid if its algorithm is
// alg. It never blocks: an unknown kid schedules a background refetch.
func (r *RemoteKeys) VerificationKey(kid, alg string) (any, error) {
	k, ok := r.set.Load().byID[kid]
	if !ok {
		r.reload.Poke()
		return nil, token.ErrUnknownKey
	}
	if k.alg != alg {
		return nil, token.ErrAlgorithm
	}
	return k.key, nil
}

// Algorithms returns the asymmetric algorithms a JWKS may hold.
func (r *RemoteKeys) Algorithms() []string { return token.AsymmetricAlgorithms() }

// Run refreshes every RefreshInterval (sooner, with backoff from
// MinRefetchInterval, after a failure) and after unknown kids, at most once
// per MinRefetchInterval, until ctx is done; then it returns ctx.Err().
func (r *RemoteKeys) Run(ctx context.Context) error { return r.reload.Run(ctx) }

// nextDelay is RefreshInterval, or an exponential backoff after failures.
func (r *RemoteKeys) nextDelay() time.Duration {
	n := r.fails.Load()
	if n == 0 {
		return r.cfg.RefreshInterval
	}
	d := r.cfg.MinRefetchInterval << min(n-1, 16)
	return min(d, r.cfg.RefreshInterval)
}

// fetch gets the JWKS from the URL that answered last, else from the
// others in turn.
func (r *RemoteKeys) fetch(ctx context.Context) (*remoteSet, error) {
	start := int(r.good.Load())
	var errs []error
	for i := range r.urls {
		n := (start + i) % len(r.urls)
		set, err := r.fetchFrom(ctx, r.urls[n])
		if err == nil {
			r.good.Store(int64(n))
			return set, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if len(r.urls) > 1 {
			err = fmt.Errorf("%s: %w", r.urls[n], err)
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (r *RemoteKeys) fetchFrom(ctx context.Context, jwksURL string) (*remoteSet, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: fetch: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: read: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, errors.New("jwks: document too large")
	}
	byID, err := r.parseSet(body)
	if err != nil {
		return nil, err
	}
	return &remoteSet{byID: byID, fetched: r.cfg.Clock()}, nil
}

// parseSet keeps the usable keys of a JWK Set document (see parseJWKS),
// logging the keys it leaves out.
func (r *RemoteKeys) parseSet(body []byte) (map[string]verificationKey, error) {
	return parseJWKS(body, func(kid string, err error) {
		level := slog.LevelDebug
		if errors.Is(err, errDuplicateKid) {
			level = slog.LevelWarn
		}
		r.cfg.Logger.Log(context.Background(), level, "jwks: ignoring JWK", "kid", kid, "err", err)
	})
}
