// Package server wires the auth service together: configuration from the
// environment, storage, keys, revocation transport, the GraphQL API and the
// HTTP routes.
package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/bearer"
	"github.com/authmesh/authmesh/internal/mail"
	"github.com/authmesh/authmesh/internal/password"
	"github.com/authmesh/authmesh/internal/redisconn"
	"github.com/authmesh/authmesh/internal/revoke/feed"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/secretenv"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/keyring"
)

// Config is the auth service's configuration (docs/CONFIGURATION.md). LoadConfig reads
// it from the environment; tests build it directly.
type Config struct {
	Port                    int           // PORT, default 8080 (0: any free port)
	JWTSecret               string        // JWT_SECRET or the file JWT_SECRET_FILE: HS256 when set, asymmetric keys otherwise
	SigningAlg              string        // SIGNING_ALG: EdDSA (default), ES256 or RS256; asymmetric mode only
	KeyEncryptionSecret     string        // KEY_ENCRYPTION_SECRET or the file KEY_ENCRYPTION_SECRET_FILE: seals private keys at rest
	RedisAddr               []string      // REDIS_ADDR, comma-separated
	RedisPassword           string        // REDIS_PASSWORD or the file REDIS_PASSWORD_FILE
	RedisDB                 int           // REDIS_DB
	RedisMasterName         string        // REDIS_MASTER_NAME: Sentinel
	RedisPrefix             string        // REDIS_PREFIX, default "authmesh:"
	RedisMinReplicas        int           // REDIS_MIN_REPLICAS: replicas that must acknowledge a revocation (Sentinel)
	RedisTimeout            time.Duration // REDIS_TIMEOUT: bound on one Redis call, retries included
	DatabaseURL             string        // DATABASE_URL or the file DATABASE_URL_FILE, default sqlite:<DataDir>/authmesh.db
	DataDir                 string        // DATA_DIR, default ./data
	Issuer                  string        // ISSUER
	Audience                string        // AUDIENCE: added to tokens when set
	AccessTokenTTL          time.Duration // ACCESS_TOKEN_TTL
	RefreshTokenTTL         time.Duration // REFRESH_TOKEN_TTL
	RefreshReuseGrace       time.Duration // REFRESH_REUSE_GRACE
	MaxTokenLifetime        time.Duration // MAX_TOKEN_LIFETIME: longest exp - iat accepted; default REFRESH_TOKEN_TTL (ACCESS_TOKEN_TTL if longer)
	PublicURL               string        // PUBLIC_URL
	TLSCertFile             string        // TLS_CERT_FILE: serve HTTPS with this certificate (PEM, reloaded on change)
	TLSKeyFile              string        // TLS_KEY_FILE: its private key (PEM)
	TrustedProxies          string        // TRUSTED_PROXIES
	AuthEnv                 string        // AUTH_ENV: development or production
	GraphQLIntrospection    bool          // GRAPHQL_INTROSPECTION: default on outside production
	GraphQLPlayground       bool          // GRAPHQL_PLAYGROUND: serve GET /playground; default on outside production
	MaxSessionsPerUser      int           // MAX_SESSIONS_PER_USER: default DefaultMaxSessionsPerUser; 0 = no cap
	Argon2MemoryKiB         uint32        // ARGON2_MEMORY_KIB (tests lower it); default OWASP 19456
	Argon2Iterations        uint32        // ARGON2_ITERATIONS; default 2
	Argon2Concurrency       int           // ARGON2_CONCURRENCY: argon2id computations at once; 0 = password.DefaultConcurrency (one per core)
	RateLimits              bool          // RATE_LIMITS: default on; "off" disables (load tests only)
	MaxConnections          int           // MAX_CONNECTIONS: open client connections; default from the file-descriptor limit
	FeedMaxStreamsPerClient int           // FEED_MAX_STREAMS_PER_CLIENT: feed streams from one client address, default 1000
	FeedToken               string        // FEED_TOKEN or the file FEED_TOKEN_FILE: required on every feed request when set
	SMTPURL                 string        // SMTP_URL or the file SMTP_URL_FILE: deliver mail over SMTP; unset: .eml files in DATA_DIR/mail
	MailFrom                string        // MAIL_FROM: the sender of every message, default DefaultMailFrom; required with SMTP_URL
	MailRetryBackoff        time.Duration // MAIL_RETRY_BACKOFF: the outbox's wait after a first failed delivery, doubled after each next one; default 5s
	RequireVerifiedEmail    bool          // REQUIRE_VERIFIED_EMAIL: login refuses unverified accounts; register answers alike for taken addresses
	EmailVerificationTTL    time.Duration // EMAIL_VERIFICATION_TTL: how long a verification link works, default 24h
	PasswordResetTTL        time.Duration // PASSWORD_RESET_TTL: how long a password reset link works, default 30m
	Limits                  Limits        // LOGIN_LIMIT_*, REGISTER_LIMIT
	CookieTransport         bool          // COOKIE_TRANSPORT: default on; "off" refuses X-Authmesh-Transport: cookie and serves no /account
	CookieSameSite          http.SameSite // COOKIE_SAMESITE: Lax (default), Strict or None
	CookieDomain            string        // COOKIE_DOMAIN: the cookies' Domain, for sibling services on subdomains
	AllowedOrigins          []string      // ALLOWED_ORIGINS, comma-separated: origins allowed cookie-mode requests and CORS
	AdminAddr               string        // ADMIN_ADDR: the admin API's listener, default DefaultAdminAddr; "off" serves none
	AuditRetention          time.Duration // AUDIT_RETENTION: how long security events are kept, default DefaultAuditRetention
	AdminToken              string        // ADMIN_TOKEN or the file ADMIN_TOKEN_FILE: bearer required by the admin API; mandatory off loopback
	AdminTLSCertFile        string        // ADMIN_TLS_CERT_FILE: serve the admin API over HTTPS with this certificate (PEM, reloaded on change)
	AdminTLSKeyFile         string        // ADMIN_TLS_KEY_FILE: its private key (PEM)

	// Tracing (OpenTelemetry, off by default): on when an OTLP endpoint is
	// set or OTEL_TRACES_EXPORTER=otlp, unless OTEL_SDK_DISABLED=true. The
	// exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
	OTELSDKDisabled                bool   // OTEL_SDK_DISABLED: true turns tracing off whatever else is set
	OTELTracesExporter             string // OTEL_TRACES_EXPORTER: otlp or none
	OTELExporterOTLPEndpoint       string // OTEL_EXPORTER_OTLP_ENDPOINT: base URL of the OTLP/HTTP receiver
	OTELExporterOTLPTracesEndpoint string // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: full URL for traces

	// Warnings are non-fatal findings of LoadConfig, logged at start.
	Warnings []string
}

// DefaultAuditRetention is AUDIT_RETENTION's default: 90 days of security
// events.
const DefaultAuditRetention = 90 * 24 * time.Hour

// DefaultAdminAddr is ADMIN_ADDR's default: the admin API on loopback only,
// where it needs no token.
const DefaultAdminAddr = "127.0.0.1:9091"

// validateAdmin refuses an admin API reachable from other hosts without a
// token.
func (c *Config) validateAdmin() error {
	if c.AdminAddr == "off" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.AdminAddr)
	if err != nil {
		return fmt.Errorf("ADMIN_ADDR=%q must be HOST:PORT (default %s) or off", c.AdminAddr, DefaultAdminAddr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("ADMIN_ADDR=%q: the port must be a number from 0 to 65535", c.AdminAddr)
	}
	if c.AdminToken != "" && !bearer.Valid(c.AdminToken) {
		return errors.New("ADMIN_TOKEN may hold only letters, digits and -._~+/ (it travels as a bearer token)")
	}
	if c.AdminToken == "" && !loopbackHost(host) {
		return fmt.Errorf("ADMIN_ADDR=%q is not a loopback address: set ADMIN_TOKEN (or ADMIN_TOKEN_FILE) so the admin API requires it, or bind ADMIN_ADDR to 127.0.0.1", c.AdminAddr)
	}
	return nil
}

// loopbackHost reports whether host names only the loopback interface: a
// loopback IP or "localhost". An empty host (all interfaces) is not.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultMaxSessionsPerUser is MAX_SESSIONS_PER_USER's default: more devices and
// browsers than a person uses, few enough that one account cannot grow the
// session table without bound (logging in once more ends the oldest).
const DefaultMaxSessionsPerUser = 100

// DefaultRedisTimeout bounds one Redis call of the auth service (REDIS_TIMEOUT):
// while Redis does not answer (paused, partitioned, failing over), a logout
// fails with an internal error after this long instead of hanging, and the
// client's retry completes it once Redis is back.
const DefaultRedisTimeout = 2 * time.Second

// LoadConfig reads the configuration from getenv. An error names the
// offending variable in one line.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Port: 8080, Issuer: token.DefaultIssuer, RedisPrefix: redissync.DefaultPrefix, DataDir: "./data",
		AccessTokenTTL: token.DefaultAccessTokenTTL, RefreshTokenTTL: token.DefaultRefreshTokenTTL, RefreshReuseGrace: auth.DefaultRefreshReuseGrace,
		AuthEnv: "development", SigningAlg: keyring.DefaultAlgorithm, RateLimits: true,
		Argon2MemoryKiB: password.DefaultParams().Memory, Argon2Iterations: password.DefaultParams().Iterations,
		MaxSessionsPerUser: DefaultMaxSessionsPerUser, FeedMaxStreamsPerClient: feed.DefaultMaxStreamsPerClient,
		RedisTimeout:    DefaultRedisTimeout,
		CookieTransport: true, CookieSameSite: http.SameSiteLaxMode,
		AdminAddr: DefaultAdminAddr, AuditRetention: DefaultAuditRetention, MailRetryBackoff: mail.DefaultMinBackoff,
		EmailVerificationTTL: auth.DefaultEmailVerificationTTL, PasswordResetTTL: auth.DefaultPasswordResetTTL,
	}
	var errs []error
	var err error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q is not a positive Go duration (e.g. 15m, 360h)", name, v))
				return
			}
			*dst = d
		}
	}
	integer := func(name string, dst *int, lo, hi int) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				errs = append(errs, fmt.Errorf("%s=%q must be a whole number from %d to %d", name, v, lo, hi))
				return
			}
			*dst = n
		}
	}
	// secret reads a secret from its variable or from the file NAME_FILE
	// names; trim drops surrounding whitespace, as str does.
	secret := func(name string, dst *string, trim bool) {
		v, err := secretenv.Lookup(getenv, name)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if trim {
			v = strings.TrimSpace(v)
		}
		if v != "" {
			*dst = v
		}
	}
	integer("PORT", &c.Port, 0, 65535)
	secret("JWT_SECRET", &c.JWTSecret, false)
	str("SIGNING_ALG", &c.SigningAlg)
	secret("KEY_ENCRYPTION_SECRET", &c.KeyEncryptionSecret, false)
	c.RedisAddr = redisconn.SplitAddrs(getenv("REDIS_ADDR"))
	secret("REDIS_PASSWORD", &c.RedisPassword, false)
	integer("REDIS_DB", &c.RedisDB, 0, 1<<16)
	str("REDIS_MASTER_NAME", &c.RedisMasterName)
	str("REDIS_PREFIX", &c.RedisPrefix)
	integer("REDIS_MIN_REPLICAS", &c.RedisMinReplicas, 0, 16)
	dur("REDIS_TIMEOUT", &c.RedisTimeout)
	str("DATA_DIR", &c.DataDir)
	secret("DATABASE_URL", &c.DatabaseURL, true)
	str("ISSUER", &c.Issuer)
	str("AUDIENCE", &c.Audience)
	dur("ACCESS_TOKEN_TTL", &c.AccessTokenTTL)
	dur("REFRESH_TOKEN_TTL", &c.RefreshTokenTTL)
	dur("REFRESH_REUSE_GRACE", &c.RefreshReuseGrace)
	dur("MAX_TOKEN_LIFETIME", &c.MaxTokenLifetime)
	str("PUBLIC_URL", &c.PublicURL)
	str("TLS_CERT_FILE", &c.TLSCertFile)
	str("TLS_KEY_FILE", &c.TLSKeyFile)
	str("TRUSTED_PROXIES", &c.TrustedProxies)
	str("AUTH_ENV", &c.AuthEnv)
	integer("MAX_SESSIONS_PER_USER", &c.MaxSessionsPerUser, 0, 1_000_000)
	integer("MAX_CONNECTIONS", &c.MaxConnections, 16, 10_000_000)
	integer("FEED_MAX_STREAMS_PER_CLIENT", &c.FeedMaxStreamsPerClient, 1, 10_000_000)
	integer("ARGON2_CONCURRENCY", &c.Argon2Concurrency, 1, 4096)
	var mem, iter int
	integer("ARGON2_MEMORY_KIB", &mem, 1024, 4<<20)
	integer("ARGON2_ITERATIONS", &iter, 1, 100)
	if mem > 0 {
		c.Argon2MemoryKiB = uint32(mem)
	}
	if iter > 0 {
		c.Argon2Iterations = uint32(iter)
	}
	if v := strings.ToLower(strings.TrimSpace(getenv("RATE_LIMITS"))); v == "off" || v == "false" || v == "0" {
		c.RateLimits = false
	}
	secret("FEED_TOKEN", &c.FeedToken, true)
	secret("SMTP_URL", &c.SMTPURL, true)
	str("MAIL_FROM", &c.MailFrom)
	dur("MAIL_RETRY_BACKOFF", &c.MailRetryBackoff)
	switch v := strings.ToLower(strings.TrimSpace(getenv("REQUIRE_VERIFIED_EMAIL"))); v {
	case "", "false", "0", "off":
	case "true", "1", "on":
		c.RequireVerifiedEmail = true
	default:
		errs = append(errs, fmt.Errorf("REQUIRE_VERIFIED_EMAIL=%q must be true or false", v))
	}
	dur("EMAIL_VERIFICATION_TTL", &c.EmailVerificationTTL)
	dur("PASSWORD_RESET_TTL", &c.PasswordResetTTL)
	str("ADMIN_ADDR", &c.AdminAddr)
	dur("AUDIT_RETENTION", &c.AuditRetention)
	secret("ADMIN_TOKEN", &c.AdminToken, true)
	str("ADMIN_TLS_CERT_FILE", &c.AdminTLSCertFile)
	str("ADMIN_TLS_KEY_FILE", &c.AdminTLSKeyFile)
	if c.Limits, err = loadLimits(getenv); err != nil {
		errs = append(errs, err)
	}
	if err := c.loadWeb(getenv); err != nil {
		errs = append(errs, err)
	}
	c.GraphQLIntrospection = c.AuthEnv != "production"
	if v := strings.ToLower(strings.TrimSpace(getenv("GRAPHQL_INTROSPECTION"))); v != "" {
		c.GraphQLIntrospection = v == "on" || v == "true" || v == "1"
	}
	c.GraphQLPlayground = c.AuthEnv != "production"
	if v := strings.ToLower(strings.TrimSpace(getenv("GRAPHQL_PLAYGROUND"))); v != "" {
		c.GraphQLPlayground = v == "on" || v == "true" || v == "1"
	}
	if err := c.loadTracing(getenv); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, errs[0]
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.AuthEnv != "development" && c.AuthEnv != "production" {
		return fmt.Errorf("AUTH_ENV=%q must be development or production", c.AuthEnv)
	}
	switch c.SigningAlg {
	case token.AlgEdDSA, token.AlgES256, token.AlgRS256:
	default:
		return fmt.Errorf("SIGNING_ALG=%q must be EdDSA, ES256 or RS256", c.SigningAlg)
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		if c.AuthEnv == "production" {
			return fmt.Errorf("JWT_SECRET is %d bytes; AUTH_ENV=production requires at least 32 random bytes", len(c.JWTSecret))
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("JWT_SECRET is only %d bytes; use at least 32 random bytes (required when AUTH_ENV=production)", len(c.JWTSecret)))
	}
	if owasp := password.DefaultParams(); c.AuthEnv == "production" && (c.Argon2MemoryKiB < owasp.Memory || c.Argon2Iterations < owasp.Iterations) {
		return fmt.Errorf("ARGON2_MEMORY_KIB/ARGON2_ITERATIONS are below OWASP's minimum (%d KiB, %d iterations); AUTH_ENV=production refuses them", owasp.Memory, owasp.Iterations)
	}
	if c.AuthEnv == "production" && c.JWTSecret == "" && c.KeyEncryptionSecret == "" {
		c.Warnings = append(c.Warnings, "KEY_ENCRYPTION_SECRET is unset: signing keys are stored unencrypted in the database")
	}
	if c.AuthEnv == "production" && c.GraphQLIntrospection {
		return fmt.Errorf("GRAPHQL_INTROSPECTION is on; AUTH_ENV=production refuses it")
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("PUBLIC_URL=%q must be an absolute http(s) URL", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.CookieSameSite == http.SameSiteNoneMode && !c.secureCookies() {
		return errors.New("COOKIE_SAMESITE=None needs Secure cookies, which need an https PUBLIC_URL: browsers drop SameSite=None cookies without Secure")
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + strings.TrimRight(c.DataDir, "/") + "/authmesh.db"
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errors.New("DATABASE_URL must be a postgres:// or postgresql:// URL, or sqlite:PATH")
	}
	if c.MaxTokenLifetime == 0 {
		c.MaxTokenLifetime = max(c.AccessTokenTTL, c.RefreshTokenTTL)
	}
	if c.MaxTokenLifetime < max(c.AccessTokenTTL, c.RefreshTokenTTL) {
		return fmt.Errorf("MAX_TOKEN_LIFETIME=%s is shorter than ACCESS_TOKEN_TTL or REFRESH_TOKEN_TTL: the service would refuse its own tokens", c.MaxTokenLifetime)
	}
	if err := c.connectionBound(); err != nil {
		return err
	}
	if err := c.validateMail(); err != nil {
		return err
	}
	if c.FeedToken != "" && !bearer.Valid(c.FeedToken) {
		return fmt.Errorf("FEED_TOKEN: %w", feed.ErrTokenCharset)
	}
	if err := c.validateAdmin(); err != nil {
		return err
	}
	if c.RefreshReuseGrace > time.Minute {
		return fmt.Errorf("REFRESH_REUSE_GRACE=%s is too long to be safe; use at most 1m", c.RefreshReuseGrace)
	}
	return nil
}

// publicURL is the external base URL, defaulting to localhost:PORT.
func (c Config) publicURL(port int) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	if c.tlsEnabled() {
		return fmt.Sprintf("https://localhost:%d", port)
	}
	return fmt.Sprintf("http://localhost:%d", port)
}

// DefaultMailFrom is MAIL_FROM's default, for the .eml files of a
// deployment without SMTP_URL.
const DefaultMailFrom = "authmesh <no-reply@localhost>"

// validateMail checks SMTP_URL and MAIL_FROM, never quoting SMTP_URL (it
// may hold a password).
func (c *Config) validateMail() error {
	if c.SMTPURL != "" {
		if _, err := mail.ParseSMTPURL(c.SMTPURL); err != nil {
			return fmt.Errorf("SMTP_URL: %w", err)
		}
		if c.MailFrom == "" {
			return errors.New("MAIL_FROM is required with SMTP_URL: the sender of every message, e.g. authmesh <no-reply@example.com>")
		}
	}
	if c.MailFrom == "" {
		c.MailFrom = DefaultMailFrom
	}
	if c.MailRetryBackoff > mail.DefaultMaxBackoff {
		return fmt.Errorf("MAIL_RETRY_BACKOFF=%s is longer than the longest wait between two attempts (%s); use at most that", c.MailRetryBackoff, mail.DefaultMaxBackoff)
	}
	if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
		return fmt.Errorf("MAIL_FROM=%q must be one address, e.g. authmesh <no-reply@example.com>: %v", c.MailFrom, err)
	}
	return nil
}
