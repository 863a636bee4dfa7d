package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/bearer"
	"github.com/authmesh/authmesh/internal/origin"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/token"
)

// Config configures a SessionValidator. The zero value of every optional
// field is a sane default. Either JWTSecret or AuthURL is required, and so
// is a revocation source (Redis or AuthURL) unless IgnoreRevocations says
// otherwise.
type Config struct {
	// JWTSecret is the shared HS256 secret of the quick-start mode. When it
	// is set, tokens are verified with it and the JWKS is never fetched.
	JWTSecret string

	// AuthURL is the auth service's base URL (e.g. http://localhost:8080),
	// or several replicas' base URLs, comma-separated: the JWKS and the
	// feed then fail over from one to the next (a name that resolves to
	// several addresses fails over between them too, as dialing tries each).
	// Without JWTSecret, the signing keys come from AuthURL's JWKS. Without
	// Redis, revocations come from AuthURL's revocation feed. It is used
	// only when set. When it is used, it must be https:// or name a
	// loopback host (localhost, 127.0.0.1, [::1]), unless
	// AllowInsecureAuthURL is set.
	AuthURL string
	// AllowInsecureAuthURL accepts a plain http:// AuthURL to a host other
	// than loopback. Over plain HTTP anyone on the network path can swap
	// the JWKS for their own keys, and then forge any token this validator
	// accepts, or silence the revocation feed so that logouts are never
	// seen. Set it only where that path is trusted: in-cluster traffic
	// (e.g. http://auth.default.svc:8080 in Kubernetes or http://auth:8080
	// on a Compose network) that never leaves hosts you control, ideally
	// encrypted underneath by a service mesh (mTLS) or restricted by a
	// network policy. Across any network you do not control, use https.
	AllowInsecureAuthURL bool

	// RedisAddr is "host:port", or a comma-separated list for Redis Cluster
	// or (with RedisMasterName) Sentinel. When set, revocations are read
	// from Redis and the auth service is never called.
	RedisAddr       string
	RedisPassword   string
	RedisDB         int
	RedisMasterName string
	// RedisClient, when set, is used instead of dialling RedisAddr. The
	// validator does not close it.
	RedisClient redis.UniversalClient
	// RedisPrefix is the key prefix of the revocation state in Redis;
	// it must match the auth service's. Default "authmesh:", the auth
	// service's REDIS_PREFIX default. Under a prefix (or RedisDB) where
	// the auth service wrote no layout marker the validator is not ready,
	// and Health().Problem says so.
	RedisPrefix string

	// Issuer is the required iss claim. Default "authentication-service",
	// the auth service's ISSUER default. An issuer other than the one the
	// auth service records beside its revocations keeps the validator not
	// ready, with both named in Health().Problem.
	Issuer string
	// Audience, when set, must appear in the token's aud claim, and match
	// the auth service's AUDIENCE (checked like Issuer).
	Audience string
	// ClockSkew is the tolerance applied to exp, nbf and iat. Default 30s,
	// the auth service's own.
	ClockSkew time.Duration
	// MaxTokenLifetime bounds a token's exp - iat: a token meant to live
	// longer (or without iat) is rejected with ErrInvalidClaims even when
	// correctly signed, so a stolen signing key or a misconfigured issuer
	// cannot mint tokens valid for years. Default 360h, the auth service's
	// default REFRESH_TOKEN_TTL; set it to at least that TTL when the auth
	// service's is longer. Must not be negative.
	MaxTokenLifetime time.Duration

	// AccessTokenCacheTTL bounds how long a verified access token's
	// signature check is remembered (revocation is still checked on every
	// request; an entry never outlives the token). Default 5m; negative
	// disables the cache.
	AccessTokenCacheTTL time.Duration
	// RefreshTokenCacheTTL is the same for refresh tokens. Default 1m.
	RefreshTokenCacheTTL time.Duration
	// CacheSize bounds the number of cached tokens. Default 10,000.
	CacheSize int

	// MaxStaleness is how long the revocation state may go without being
	// known in sync before the validator reports itself degraded.
	// Default 30s.
	MaxStaleness time.Duration
	// FailClosed makes the validator reject every token (ErrStale, answered
	// 503 by the middleware) once the state is staler than MaxStaleness.
	// The default, fail-open, keeps validating on the local state.
	FailClosed bool

	// IgnoreRevocations lets a validator with a JWTSecret run without a
	// revocation source (neither Redis nor AuthURL). It gives up logout:
	// a token stays valid until its exp after its user logged out, its
	// device session was revoked, its password was changed or its refresh
	// token was stolen. Without it, NewSessionValidator refuses that
	// configuration (ErrNoRevocationSource); with it, the validator logs a
	// warning at start. It cannot be combined with a revocation source.
	IgnoreRevocations bool

	// FeedToken is the revocation feed's credential: the auth service's
	// FEED_TOKEN, sent as "Authorization: Bearer <FeedToken>" with every
	// feed request. Needed only when the auth service sets FEED_TOKEN;
	// without it such a feed answers 401 and Health().Problem says so.
	FeedToken string

	// AccessCookieName is the cookie the HTTP middleware reads the access
	// token from when a request has no Authorization header (the auth
	// service's cookie transport). Default DefaultAccessCookieName, the
	// auth service's; NoCookie ("-") reads no cookie.
	AccessCookieName string
	// AllowedOrigins lists the origins (https://app.example.com) besides
	// the service's own from which a state-changing request authenticated
	// by the access cookie is accepted; such a request must also carry
	// TransportHeader (docs/SECURITY.md). The same list as the auth
	// service's ALLOWED_ORIGINS. Default none.
	AllowedOrigins []string

	// HTTPClient is used for AuthURL. Default: a client with a 10s timeout
	// for JWKS and no timeout for the feed stream.
	HTTPClient *http.Client
	// AuthCAFile names a PEM file of the certificate authorities that sign
	// the auth service's certificate: an https AuthURL is then verified
	// against them instead of the system's roots (a private or cluster
	// CA). Read once, by NewSessionValidator. Set it or HTTPClient, not
	// both.
	AuthCAFile string
	// Metrics, when set, gets the validator's Prometheus collector
	// registered (see Collector). Registration errors fail
	// NewSessionValidator.
	Metrics prometheus.Registerer
	// Logger receives operational messages and the warnings of degraded
	// modes; never tokens. Default slog.Default().
	Logger *slog.Logger
	// Clock returns the current time. Default time.Now. With the default
	// the request path reads only the monotonic clock (one read instead of
	// time.Now's two) from the wall time read at start; a Clock given here
	// is called instead, once per validation.
	Clock func() time.Time
}

// errNoKeySource keeps the quick start's troubleshooting text true.
var errNoKeySource = errors.New("session: JWT secret is required (set Config.JWTSecret, or Config.AuthURL to use the auth service's public keys)")

func (c Config) withDefaults() (Config, error) {
	if c.JWTSecret == "" && c.AuthURL == "" {
		return c, errNoKeySource
	}
	hasSource := c.RedisClient != nil || c.RedisAddr != "" || c.AuthURL != ""
	if !hasSource && !c.IgnoreRevocations {
		return c, ErrNoRevocationSource
	}
	if hasSource && c.IgnoreRevocations {
		return c, errors.New("session: IgnoreRevocations is only for a validator without a revocation source; unset it, or unset RedisAddr, RedisClient and AuthURL")
	}
	if c.FeedToken != "" && !bearer.Valid(c.FeedToken) {
		return c, errors.New("session: FeedToken must be letters, digits and -._~+/ (then optional = padding), the characters of a bearer token: the auth service's FEED_TOKEN never has others")
	}
	if err := c.checkAuthURLs(); err != nil {
		return c, err
	}
	if _, err := origin.New(c.AllowedOrigins); err != nil {
		return c, fmt.Errorf("session: AllowedOrigins: %w", err)
	}
	if c.AccessCookieName == "" {
		c.AccessCookieName = DefaultAccessCookieName
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = redissync.DefaultPrefix
	}
	if c.Issuer == "" {
		c.Issuer = token.DefaultIssuer
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = token.DefaultClockSkew
	}
	if c.ClockSkew < 0 {
		return c, errors.New("session: ClockSkew must not be negative")
	}
	if c.MaxTokenLifetime < 0 {
		return c, errors.New("session: MaxTokenLifetime must not be negative")
	}
	if c.MaxTokenLifetime == 0 {
		c.MaxTokenLifetime = token.DefaultRefreshTokenTTL
	}
	if c.AccessTokenCacheTTL == 0 {
		c.AccessTokenCacheTTL = 5 * time.Minute
	}
	if c.RefreshTokenCacheTTL == 0 {
		c.RefreshTokenCacheTTL = time.Minute
	}
	if c.CacheSize <= 0 {
		c.CacheSize = 10_000
	}
	if c.MaxStaleness <= 0 {
		c.MaxStaleness = 30 * time.Second
	}
	if err := c.authClient(); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c, nil
}

// ErrInsecureAuthURL: AuthURL is plain http:// to a host other than loopback
// and Config.AllowInsecureAuthURL is not set.
var ErrInsecureAuthURL = errors.New("session: AuthURL is plain http:// to a non-loopback host, so anyone on the path could swap the signing keys; use https://, or set AllowInsecureAuthURL for a trusted in-cluster network")

// usesAuthURL reports whether the validator would call AuthURL: for the
// signing keys (no JWTSecret) or the revocation feed (no Redis).
func (c Config) usesAuthURL() bool {
	return c.JWTSecret == "" || (c.RedisAddr == "" && c.RedisClient == nil)
}

// loopback reports whether host is localhost or a loopback IP address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
