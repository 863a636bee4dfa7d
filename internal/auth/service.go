package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/token"
)

// Issuer mints tokens; *token.Issuer implements it.
type Issuer interface {
	// IssueUserAccess signs an access token; emailVerified is its
	// email_verified claim.
	IssueUserAccess(userID, sessionID string, issuedAt time.Time, emailVerified bool) (string, token.Claims, error)
	IssueRefresh(userID, sessionID string, gen int64, issuedAt, expiresAt time.Time) (string, token.Claims, error)
	IssueDevice(userID, deviceID string, issuedAt, expiresAt time.Time) (string, token.Claims, error)
}

// Verifier checks tokens; *token.Verifier implements it.
type Verifier interface {
	Verify(raw, wantType string) (token.Claims, error)
}

// Passwords hashes and verifies passwords; *password.Hasher implements it.
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string)
}

// Limiter enforces login and registration limits. A nil Limiter in Config
// means no limits.
//
// A login attempt is reserved before its password hash runs, charged as a
// failure, and given back when the password was right, so concurrent
// attempts are bounded exactly like sequential ones. device is the id of a
// device the account knows ("" for an unknown one): a known device is
// charged on a budget of its own, never on the account's shared one.
type Limiter interface {
	ReserveLogin(ctx context.Context, email, ip, device string) (retryAfter time.Duration, err error)
	LoginSucceeded(ctx context.Context, email, ip, device string) error
	CheckRegister(ctx context.Context, ip string) (retryAfter time.Duration, err error)
	// CheckMail counts a request for an account mail (verification or
	// reset link) for email from ip, per address and per client.
	CheckMail(ctx context.Context, email, ip string) (retryAfter time.Duration, err error)
}

// DefaultRefreshReuseGrace is how long, by default, the refresh token a rotation
// just retired is still accepted, so that concurrent refreshes of one token
// (several browser tabs) do not look like theft.
const DefaultRefreshReuseGrace = 10 * time.Second

// Config holds the service's dependencies and settings.
type Config struct {
	Users     Users
	Sessions  Sessions
	Revoker   Revoker
	Issuer    Issuer
	Verifier  Verifier
	Passwords Passwords
	Limiter   Limiter // optional
	// Admin stores the operator's account actions (DisableUser,
	// DeleteUser...); nil refuses them.
	Admin UserAdmin
	// Audit stores the security events (AuditEvents); nil logs them only.
	Audit Audit
	// Keys withdraws signing keys (WithdrawKey); nil with a shared secret.
	Keys KeyWithdrawer
	// Device turns a User-Agent into a device type and name. Optional.
	Device func(userAgent string) (deviceType, deviceName string)
	// PasswordPolicy checks a new password; returns a caller-safe error.
	PasswordPolicy func(pw string) error

	// Mail is the account lifecycle (docs/API.md, "Email verification and
	// password reset"); see MailConfig. Without its AccountTokens and
	// Composer, register sends nothing and the mail flows are refused.
	Mail MailConfig

	AccessTokenTTL    time.Duration // default token.DefaultAccessTokenTTL
	RefreshTokenTTL   time.Duration // default token.DefaultRefreshTokenTTL
	RefreshReuseGrace time.Duration // default DefaultRefreshReuseGrace; how long the previous refresh token is still accepted
	ClockSkew         time.Duration // default token.DefaultClockSkew; added to revocation lifetimes
	// MaxSessionsPerUser evicts the oldest sessions beyond this count; 0 = no cap.
	MaxSessionsPerUser int

	// Logger receives internal failures (default slog.Default()).
	Logger *slog.Logger
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Service implements the auth service's use cases. It is safe for
// concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Users == nil || cfg.Sessions == nil:
		return nil, errors.New("auth: Config.Users and Config.Sessions are required")
	case cfg.Revoker == nil:
		return nil, errors.New("auth: Config.Revoker is required")
	case cfg.Issuer == nil || cfg.Verifier == nil:
		return nil, errors.New("auth: Config.Issuer and Config.Verifier are required")
	case cfg.Passwords == nil:
		return nil, errors.New("auth: Config.Passwords is required")
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = token.DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = token.DefaultRefreshTokenTTL
	}
	if cfg.RefreshReuseGrace < 0 {
		return nil, errors.New("auth: RefreshReuseGrace must not be negative")
	}
	if cfg.RefreshReuseGrace == 0 {
		cfg.RefreshReuseGrace = DefaultRefreshReuseGrace
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = token.DefaultClockSkew
	}
	if cfg.Device == nil {
		cfg.Device = func(string) (string, string) { return "unknown", "Unknown device" }
	}
	if cfg.PasswordPolicy == nil {
		cfg.PasswordPolicy = func(string) error { return nil }
	}
	if err := cfg.Mail.fill(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{cfg: cfg, log: cfg.Logger, now: cfg.Clock}, nil
}

// revocationExpiry is when a session or user revocation made at now can be
// forgotten: no access token issued before the revocation outlives it.
func (s *Service) revocationExpiry(now time.Time) int64 {
	return now.Add(s.cfg.AccessTokenTTL + 2*s.cfg.ClockSkew).Unix()
}

// revoke records entries, together when the Revoker is a
// revoke.BulkRevoker (one journal transaction: each commit is a disk flush
// on PostgreSQL), else one after another.
func (s *Service) revoke(ctx context.Context, entries ...revoke.Entry) error {
	if m, ok := s.cfg.Revoker.(revoke.BulkRevoker); ok && len(entries) > 1 {
		if _, err := m.RevokeMany(ctx, entries); err != nil {
			return internal("revoke", err)
		}
		return nil
	}
	for _, e := range entries {
		if _, err := s.cfg.Revoker.Revoke(ctx, e); err != nil {
			return internal("revoke "+string(e.Kind), err)
		}
	}
	return nil
}

// revokeSessions records sid revocations, so every token of those sessions
// is rejected everywhere.
func (s *Service) revokeSessions(ctx context.Context, now time.Time, ids ...string) error {
	entries := make([]revoke.Entry, len(ids))
	for i, id := range ids {
		entries[i] = revoke.Entry{Kind: revoke.KindSession, ID: id, Expires: s.revocationExpiry(now), At: now.Unix()}
	}
	if err := s.revokeEntries(ctx, entries); err != nil {
		return internal("revoke session", err)
	}
	return nil
}

// revokeEntries records entries: in batches (one journal transaction and
// one announcement per batch) when the Revoker is a revoke.BulkRevoker and
// there is more than one, else one by one.
func (s *Service) revokeEntries(ctx context.Context, entries []revoke.Entry) error {
	if bulk, ok := s.cfg.Revoker.(revoke.BulkRevoker); ok && len(entries) > 1 {
		_, err := bulk.RevokeMany(ctx, entries)
		return err
	}
	for _, e := range entries {
		if _, err := s.cfg.Revoker.Revoke(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// issuedAt is the iat for a new token of u: never before u's revocation
// cut-off, so a token issued in the same second as "log out everywhere" is
// not caught by it.
func issuedAt(u User, now time.Time) time.Time {
	if u.TokensValidAfter > now.Unix() {
		return time.Unix(u.TokensValidAfter, 0)
	}
	return now
}

func unauthenticated(msg string, err error) *Error {
	return &Error{Code: CodeUnauthenticated, Message: msg, Err: err}
}

// storeErr turns a storage error into the service's error, keeping
// ErrNotFound distinguishable for callers that care.
func storeErr(op string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return internal(op, err)
}
