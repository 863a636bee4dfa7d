// Package validatorenv reads the configuration the example services share
// from the environment (JWT_SECRET, REDIS_ADDR, AUTH_URL, FEED_TOKEN, PORT,
// the OTEL_* variables of tracing, ...; see docs/CONFIGURATION.md), opens their validator and runs them up
// to their own serving (Run), so the HTTP and the gRPC example are
// configured and started alike.
package validatorenv

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/origin"
	"github.com/authmesh/authmesh/internal/secretenv"
	"github.com/authmesh/authmesh/internal/telemetry"
	"github.com/authmesh/authmesh/session"
)

// Open creates the validator of cfg logging to log, naming the variable
// that opts into a plain-http AUTH_URL when it refuses one.
func Open(cfg session.Config, log *slog.Logger) (*session.SessionValidator, error) {
	cfg.Logger = log
	v, err := session.NewSessionValidator(cfg)
	if errors.Is(err, session.ErrInsecureAuthURL) {
		return nil, fmt.Errorf("AUTH_URL: %w (ALLOW_INSECURE_AUTH_URL=true opts in)", err)
	}
	return v, err
}

// ErrNoRevocationSource is session.ErrNoRevocationSource in the words of
// the environment.
var ErrNoRevocationSource = errors.New("JWT_SECRET alone would accept revoked tokens until they expire: set REDIS_ADDR (revocations from Redis) or AUTH_URL (the auth service's revocation feed, e.g. http://localhost:8080)")

// Load reads the environment into a validator Config and the port to listen
// on (PORT, defaultPort when unset). Each secret may instead be given as a
// file named by NAME_FILE.
func Load(getenv func(string) string, defaultPort string) (session.Config, string, error) {
	secret, err := secretenv.Lookup(getenv, "JWT_SECRET")
	if err != nil {
		return session.Config{}, "", err
	}
	password, err := secretenv.Lookup(getenv, "REDIS_PASSWORD")
	if err != nil {
		return session.Config{}, "", err
	}
	feedToken, err := secretenv.Lookup(getenv, "FEED_TOKEN")
	if err != nil {
		return session.Config{}, "", err
	}
	cfg := session.Config{
		JWTSecret:       secret,
		RedisAddr:       getenv("REDIS_ADDR"),
		RedisPassword:   password,
		FeedToken:       strings.TrimSpace(feedToken),
		RedisMasterName: getenv("REDIS_MASTER_NAME"),
		AuthURL:         getenv("AUTH_URL"),
		AuthCAFile:      strings.TrimSpace(getenv("AUTH_CA_FILE")),
		// Read like the auth service reads them, so a non-default value
		// set on both sides works; a mismatch shows in /health and the
		// log at start-up (the auth service records its ISSUER and
		// AUDIENCE beside the revocation state).
		Issuer:      strings.TrimSpace(getenv("ISSUER")),
		Audience:    strings.TrimSpace(getenv("AUDIENCE")),
		RedisPrefix: strings.TrimSpace(getenv("REDIS_PREFIX")),
	}
	if cfg.JWTSecret == "" && cfg.RedisAddr == "" && cfg.AuthURL == "" {
		cfg.AuthURL = "http://localhost:8080"
	}
	if cfg.RedisAddr == "" && cfg.AuthURL == "" {
		return cfg, "", ErrNoRevocationSource
	}
	if v := getenv("REDIS_DB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return cfg, "", fmt.Errorf("REDIS_DB=%q must be a non-negative whole number", v)
		}
		cfg.RedisDB = n
	}
	if v := getenv("MAX_STALENESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, "", fmt.Errorf("MAX_STALENESS=%q is not a positive Go duration (e.g. 30s)", v)
		}
		cfg.MaxStaleness = d
	}
	cfg.FailClosed = getenv("FAIL_CLOSED") == "true" || getenv("FAIL_CLOSED") == "1"
	cfg.AllowInsecureAuthURL = getenv("ALLOW_INSECURE_AUTH_URL") == "true" || getenv("ALLOW_INSECURE_AUTH_URL") == "1"
	cfg.AllowedOrigins = origin.Split(getenv("ALLOWED_ORIGINS"))
	// Tracing is set up by Run; a value it would refuse is refused here,
	// with the rest of the configuration.
	if _, err := telemetry.EnvEnabled(getenv); err != nil {
		return cfg, "", err
	}
	port := getenv("PORT")
	if port == "" {
		port = defaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return cfg, "", fmt.Errorf("PORT=%q must be a port number", port)
	}
	return cfg, port, nil
}
