package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authmesh/authmesh/internal/token"
)

// Register creates an account.
func (s *Service) Register(ctx context.Context, email, password string, client ClientInfo) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if err := checkScripts(email); err != nil {
		return User{}, err
	}
	if err := s.cfg.PasswordPolicy(password); err != nil {
		return User{}, &Error{Code: CodeBadUserInput, Message: err.Error()}
	}
	if s.cfg.Limiter != nil {
		retry, err := s.cfg.Limiter.CheckRegister(ctx, client.IP)
		if err != nil {
			return User{}, internal("check registration limit", err)
		}
		if retry > 0 {
			return User{}, rateLimited(retry)
		}
	}
	hash, err := s.cfg.Passwords.Hash(ctx, password)
	if err != nil {
		return User{}, internal("hash password", err)
	}
	u, created, err := s.createUser(ctx, email, hash, client.IP)
	if err != nil {
		return User{}, err
	}
	if created {
		s.log.Info("user registered", "user_id", u.ID)
	}
	return u.withoutSecret(), nil
}

func rateLimited(retry time.Duration) *Error {
	secs := int(retry.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &Error{
		Code:       CodeRateLimited,
		Message:    "too many attempts; try again in " + (time.Duration(secs) * time.Second).String(),
		RetryAfter: time.Duration(secs) * time.Second,
	}
}

var errInvalidCredentials = newError(CodeInvalidCredentials, "email or password is incorrect")

// Login checks credentials and starts a device session.
//
// Failed attempts are limited per account (see Limiter). A client that
// presents a valid device token of the account (client.DeviceToken) is a
// device the account knows and is charged on a budget of its own, so
// failures from elsewhere never lock the owner out of a device they have
// used. Every successful login returns a device token for the client to
// present next time: the one presented (re-issued with a fresh lifetime)
// or a new device's.
func (s *Service) Login(ctx context.Context, email, password string, client ClientInfo) (LoginResult, error) {
	email, err := s.loginEmail(ctx, email)
	if err != nil {
		return LoginResult{}, err
	}
	if password == "" {
		return LoginResult{}, newError(CodeBadUserInput, "password is required")
	}
	device, err := s.knownDevice(ctx, email, client.DeviceToken)
	if err != nil {
		return LoginResult{}, err
	}
	// The attempt is charged before the hash runs: concurrent guesses
	// cannot all slip past a budget that was only read.
	if s.cfg.Limiter != nil {
		retry, err := s.cfg.Limiter.ReserveLogin(ctx, email, client.IP, device)
		if err != nil {
			return LoginResult{}, internal("check login limit", err)
		}
		if retry > 0 {
			return LoginResult{}, rateLimited(retry)
		}
	}
	u, err := s.checkPassword(ctx, email, password)
	if err != nil {
		if c := ErrorCode(err); c == CodeInvalidCredentials || c == CodeAccountDisabled {
			s.audit(ctx, AuditEvent{Event: EventLoginFailed, UserID: u.ID, IP: clean(client.IP, 64),
				UserAgent: clean(client.UserAgent, 512), Detail: string(c) + " " + email})
		}
		return LoginResult{}, err
	}
	if s.cfg.Limiter != nil {
		if err := s.cfg.Limiter.LoginSucceeded(ctx, email, client.IP, device); err != nil {
			s.log.Error("record successful login", "err", err)
		}
	}
	if s.cfg.Mail.RequireVerifiedEmail && !u.EmailVerified() {
		return LoginResult{}, s.refuseUnverified(ctx, u, client)
	}
	res, err := s.startSession(ctx, u, client)
	if err != nil {
		return LoginResult{}, err
	}
	if device == "" {
		device = uuid.NewString()
	}
	res.DeviceExpiresAt = s.now().Add(s.cfg.RefreshTokenTTL)
	res.DeviceToken, _, err = s.cfg.Issuer.IssueDevice(u.ID, device, s.now(), res.DeviceExpiresAt)
	if err != nil {
		return LoginResult{}, internal("issue device token", err)
	}
	return res, nil
}

// maxDeviceTokenLen bounds a presented device token; longer ones are
// ignored (treated as an unknown device).
const maxDeviceTokenLen = 4 << 10

// knownDevice returns the device id of raw when it is a valid device token
// of the account of email, and "" otherwise: a missing, malformed, expired
// or foreign device token makes the client an unknown device, never an
// error, so it cannot tell whether an email has an account.
func (s *Service) knownDevice(ctx context.Context, email, raw string) (string, error) {
	if raw == "" || len(raw) > maxDeviceTokenLen {
		return "", nil
	}
	c, err := s.cfg.Verifier.Verify(raw, token.TypeDevice)
	if err != nil {
		return "", nil
	}
	u, err := s.cfg.Users.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", internal("load user", err)
	}
	if u.ID != c.Subject {
		return "", nil
	}
	return c.ID, nil
}

// checkPassword verifies credentials in time that does not depend on whether
// the account exists, and upgrades the hash when its parameters are old.
func (s *Service) checkPassword(ctx context.Context, email, password string) (User, error) {
	u, err := s.cfg.Users.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		s.cfg.Passwords.VerifyDummy(ctx, password)
		return User{}, errInvalidCredentials
	}
	if err != nil {
		return User{}, internal("load user", err)
	}
	ok, rehash, err := s.cfg.Passwords.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return User{}, internal("verify password", err)
	}
	if !ok {
		return User{ID: u.ID}, errInvalidCredentials // the id for the audit trail only
	}
	if !u.DisabledAt.IsZero() {
		return User{ID: u.ID}, errDisabled
	}
	if rehash {
		if h, err := s.cfg.Passwords.Hash(ctx, password); err == nil {
			if err := s.cfg.Users.SetPassword(ctx, u.ID, h); err != nil {
				s.log.Error("upgrade password hash", "user_id", u.ID, "err", err)
			}
		}
	}
	return u, nil
}

// startSession creates a device session for u and issues its first tokens.
func (s *Service) startSession(ctx context.Context, u User, client ClientInfo) (LoginResult, error) {
	now := s.now()
	devType, devName := s.cfg.Device(client.UserAgent)
	sess := Session{
		ID: uuid.NewString(), UserID: u.ID,
		DeviceType: devType, DeviceName: clean(devName, 128), IPAddress: clean(client.IP, 64),
		UserAgent: clean(client.UserAgent, 512),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTokenTTL), RotatedAt: now,
	}
	if err := s.cfg.Sessions.CreateSession(ctx, sess); err != nil {
		return LoginResult{}, internal("create session", err)
	}
	if err := s.enforceSessionCap(ctx, u.ID, now); err != nil {
		return LoginResult{}, err
	}
	access, ac, err := s.cfg.Issuer.IssueUserAccess(u.ID, sess.ID, issuedAt(u, now), u.EmailVerified())
	if err != nil {
		return LoginResult{}, internal("issue access token", err)
	}
	refresh, _, err := s.cfg.Issuer.IssueRefresh(u.ID, sess.ID, 0, sess.RotatedAt, sess.ExpiresAt)
	if err != nil {
		return LoginResult{}, internal("issue refresh token", err)
	}
	if err := s.cfg.Users.SetLastLogin(ctx, u.ID, now); err != nil {
		s.log.Error("record last login", "user_id", u.ID, "err", err)
	}
	s.log.Info("login", "user_id", u.ID, "session_id", sess.ID, "device", devName)
	s.audit(ctx, AuditEvent{Event: EventLoginSucceeded, UserID: u.ID, SessionID: sess.ID, IP: sess.IPAddress, UserAgent: sess.UserAgent, Detail: devName})
	return LoginResult{
		Token: access, RefreshToken: refresh, UserID: u.ID, Email: u.Email,
		SessionID: sess.ID, ExpiresAt: time.Unix(ac.ExpiresAt, 0), EmailVerified: u.EmailVerified(),
	}, nil
}

// enforceSessionCap ends the oldest sessions beyond MaxSessionsPerUser.
func (s *Service) enforceSessionCap(ctx context.Context, userID string, now time.Time) error {
	if s.cfg.MaxSessionsPerUser <= 0 {
		return nil
	}
	live, err := s.cfg.Sessions.ListSessions(ctx, userID, now)
	if err != nil {
		return internal("list sessions", err)
	}
	for i := s.cfg.MaxSessionsPerUser; i < len(live); i++ { // newest first
		if err := s.revokeSessions(ctx, now, live[i].ID); err != nil {
			return err
		}
		if _, err := s.cfg.Sessions.RevokeSession(ctx, live[i].ID, now); err != nil {
			return internal("evict session", err)
		}
	}
	return nil
}

// Authenticate verifies an access token and checks that its session and
// user are still in good standing.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Caller, error) {
	if bearer == "" {
		return Caller{}, unauthenticated("authentication required: send Authorization: Bearer <access token>", nil)
	}
	c, err := s.cfg.Verifier.Verify(bearer, token.TypeAccess)
	if err != nil {
		return Caller{}, unauthenticated("access token is invalid or expired; log in again", err)
	}
	now := s.now()
	caller := Caller{UserID: c.Subject, SessionID: c.SessionID, TokenID: c.ID, ExpiresAt: time.Unix(c.ExpiresAt, 0)}
	// The session and its user's standing in one read; the user alone
	// when the session is gone, for the reason to report.
	sess, u, err := s.cfg.Sessions.SessionWithUser(ctx, c.SessionID)
	var sessionEnded bool
	switch {
	case errors.Is(err, ErrNotFound):
		sessionEnded = true
		u, err = s.cfg.Users.UserByID(ctx, c.Subject)
		if errors.Is(err, ErrNotFound) {
			return Caller{}, unauthenticated("session has ended; log in again", err)
		}
		if err != nil {
			return Caller{}, internal("load user", err)
		}
	case err != nil:
		return Caller{}, internal("load session", err)
	case sess.UserID != c.Subject:
		return Caller{}, unauthenticated("session has ended; log in again", nil)
	default:
		sessionEnded = !sess.RevokedAt.IsZero() || !sess.ExpiresAt.After(now)
	}
	// A cut-off ends every session it covers too: it is the reason to
	// report, so that a logout everywhere can be retried.
	if c.IssuedAt < u.TokensValidAfter || !u.DisabledAt.IsZero() {
		return ended(caller, EndedEverywhere)
	}
	if sessionEnded {
		return ended(caller, EndedSession)
	}
	return caller, nil
}

// ended returns c, marked as ended by why, with the error every operation
// but a logout retry answers.
func ended(c Caller, why EndReason) (Caller, error) {
	c.Ended = why
	return c, unauthenticated("session has ended; log in again", ErrSessionEnded)
}

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context, c Caller) (User, error) {
	u, err := s.cfg.Users.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, unauthenticated("account no longer exists", err)
	}
	if err != nil {
		return User{}, internal("load user", err)
	}
	return u.withoutSecret(), nil
}

// clean makes client-supplied text safe to store and show: valid UTF-8,
// no control characters, at most n bytes.
func clean(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
