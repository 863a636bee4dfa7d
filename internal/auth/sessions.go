package auth

import (
	"context"
	"errors"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/token"
)

// Logout ends the caller's current device session: its access tokens and
// its refresh token stop working everywhere. Logging out twice succeeds: a
// caller whose session already ended (Caller.Ended) gets success with
// nothing to do, so a client that retries a logout whose answer it missed
// sees it complete.
//
// Here and below, the revocation is recorded before the database is
// updated: if recording fails, nothing has changed and a retry works; if
// the database update fails, tokens are already rejected everywhere and a
// retry completes it.
func (s *Service) Logout(ctx context.Context, c Caller) error {
	if c.Ended != "" {
		// The session's revocations were recorded before it was marked
		// ended (see above), so there is nothing left to do.
		s.log.Info("logout: session had already ended", "user_id", c.UserID, "session_id", c.SessionID, "ended", string(c.Ended))
		return nil
	}
	now := s.now()
	// The token itself too, so its jti is revoked even for a validator that
	// only ever saw this one event.
	if err := s.revoke(ctx,
		revoke.Entry{Kind: revoke.KindToken, ID: c.TokenID, Expires: c.ExpiresAt.Add(s.cfg.ClockSkew).Unix(), At: now.Unix()},
		revoke.Entry{Kind: revoke.KindSession, ID: c.SessionID, Expires: s.revocationExpiry(now), At: now.Unix()},
	); err != nil {
		return err
	}
	// Ending the session row and recording the audit event are independent
	// writes: run them together, so that on a database that flushes every
	// commit to disk (PostgreSQL) they wait for one flush, not two in a row.
	audited := make(chan struct{})
	go func() {
		defer close(audited)
		s.audit(ctx, AuditEvent{Event: EventLogout, UserID: c.UserID, SessionID: c.SessionID, IP: clean(c.Client.IP, 64), UserAgent: clean(c.Client.UserAgent, 512)})
	}()
	_, err := s.cfg.Sessions.RevokeSession(ctx, c.SessionID, now)
	<-audited
	if err != nil {
		return internal("end session", err)
	}
	s.log.Info("logout", "user_id", c.UserID, "session_id", c.SessionID)
	return nil
}

// LogoutAll ends every session of the caller, the current one included, by
// a user-wide cut-off (every token issued before now is revoked) and by
// ending, and revoking by sid, every session in the database. The second
// half catches a refresh that raced the cut-off: one that read its session
// just before it ended mints a token at the cut-off, which the user-wide
// entry does not cover but the session's does.
//
// A caller already covered by a user-wide cut-off (Caller.Ended is
// EndedEverywhere) gets success with nothing to do: that is the retry of a
// logout everywhere that completed. A caller whose session ended alone is
// refused, as for every other operation.
func (s *Service) LogoutAll(ctx context.Context, c Caller) error {
	switch c.Ended {
	case "":
	case EndedEverywhere:
		s.log.Info("logout everywhere: already done", "user_id", c.UserID, "session_id", c.SessionID)
		return nil
	default:
		return unauthenticated("session has ended; log in again", ErrSessionEnded)
	}
	now := s.now()
	// Tokens carry whole seconds: cut at the next second, and issue later
	// tokens no earlier than it (see issuedAt).
	before := now.Unix() + 1
	if _, err := s.cfg.Revoker.Revoke(ctx, revoke.Entry{
		Kind: revoke.KindUser, ID: c.UserID, Before: before, Expires: s.revocationExpiry(now), At: now.Unix(),
	}); err != nil {
		return internal("revoke user", err)
	}
	if err := s.cfg.Users.SetTokensValidAfter(ctx, c.UserID, before); err != nil {
		return internal("set cut-off", err)
	}
	ended, err := s.endOtherSessions(ctx, c.UserID, "")
	if err != nil {
		return err
	}
	s.log.Info("logout everywhere", "user_id", c.UserID, "sessions_ended", ended)
	s.audit(ctx, AuditEvent{Event: EventLogoutAll, UserID: c.UserID, SessionID: c.SessionID, IP: clean(c.Client.IP, 64), UserAgent: clean(c.Client.UserAgent, 512)})
	return nil
}

// RevokeSession ends one of the caller's sessions. Sessions of other users
// are reported as not found.
func (s *Service) RevokeSession(ctx context.Context, c Caller, id string) error {
	if id == "" || len(id) > 64 {
		return newError(CodeBadUserInput, "session id is required")
	}
	sess, err := s.cfg.Sessions.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != c.UserID) {
		return newError(CodeNotFound, "no such session; list yours with the sessions query")
	}
	if err != nil {
		return internal("load session", err)
	}
	now := s.now()
	if err := s.revokeSessions(ctx, now, id); err != nil {
		return err
	}
	if _, err := s.cfg.Sessions.RevokeSession(ctx, id, now); err != nil {
		return internal("end session", err)
	}
	s.log.Info("session revoked", "user_id", c.UserID, "session_id", id)
	if c.SessionID != "" { // a user's own action; the admin API records its own
		s.audit(ctx, AuditEvent{Event: EventSessionRevoked, UserID: c.UserID, SessionID: c.SessionID, IP: clean(c.Client.IP, 64), UserAgent: clean(c.Client.UserAgent, 512), Detail: "session " + id})
	}
	return nil
}

// Sessions lists the caller's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, c Caller) ([]Session, error) {
	list, err := s.cfg.Sessions.ListSessions(ctx, c.UserID, s.now())
	if err != nil {
		return nil, internal("list sessions", err)
	}
	if list == nil {
		list = []Session{}
	}
	for i := range list {
		list[i].Current = list[i].ID == c.SessionID
	}
	return list, nil
}

// ChangePassword replaces the caller's password after checking the old one,
// and ends every other session of the caller; the current one keeps working.
//
// The old password is always verified, and each check is charged to the
// caller's session (as a device of its own) and client address before the
// hash runs, so a stolen access token is no password-guessing oracle. The
// other sessions end before the new password is stored: if a step fails,
// the old password still works and repeating the change completes it.
func (s *Service) ChangePassword(ctx context.Context, c Caller, oldPassword, newPassword string) error {
	if err := s.cfg.PasswordPolicy(newPassword); err != nil {
		return &Error{Code: CodeBadUserInput, Message: "new password: " + err.Error()}
	}
	if oldPassword == newPassword {
		return newError(CodeBadUserInput, "new password must differ from the old one")
	}
	u, err := s.cfg.Users.UserByID(ctx, c.UserID)
	if err != nil {
		return storeErr("load user", err)
	}
	if err := s.checkCallerPassword(ctx, c, u, oldPassword); err != nil {
		return err
	}
	hash, err := s.cfg.Passwords.Hash(ctx, newPassword)
	if err != nil {
		return internal("hash password", err)
	}
	ended, err := s.endOtherSessions(ctx, u.ID, c.SessionID)
	if err != nil {
		return err
	}
	if err := s.cfg.Users.SetPassword(ctx, u.ID, hash); err != nil {
		return internal("store password", err)
	}
	if err := s.spendAccountTokens(ctx, u.ID); err != nil {
		return err
	}
	s.log.Info("password changed", "user_id", u.ID, "sessions_ended", ended)
	s.audit(ctx, AuditEvent{Event: EventPasswordChanged, UserID: u.ID, SessionID: c.SessionID, IP: clean(c.Client.IP, 64), UserAgent: clean(c.Client.UserAgent, 512)})
	return nil
}

// checkCallerPassword verifies the signed-in caller's current password
// (account u) before a sensitive change. Each check is charged to the
// caller's session (as a device of its own) and client address before the
// hash runs, so a stolen access token is no password-guessing oracle.
func (s *Service) checkCallerPassword(ctx context.Context, c Caller, u User, password string) error {
	device := "session:" + c.SessionID
	if s.cfg.Limiter != nil {
		retry, err := s.cfg.Limiter.ReserveLogin(ctx, u.Email, c.Client.IP, device)
		if err != nil {
			return internal("check password limit", err)
		}
		if retry > 0 {
			return rateLimited(retry)
		}
	}
	ok, _, err := s.cfg.Passwords.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return internal("verify password", err)
	}
	if !ok {
		return newError(CodeInvalidCredentials, "current password is incorrect")
	}
	if s.cfg.Limiter != nil {
		if err := s.cfg.Limiter.LoginSucceeded(ctx, u.Email, c.Client.IP, device); err != nil {
			s.log.Error("record successful password check", "err", err)
		}
	}
	return nil
}

// endOtherSessions revokes every live session of a user but keep ("" for
// none): first by
// sid, then in the database, then by sid again for any session created in
// between, so no session is ended in the database without its tokens being
// rejected everywhere.
func (s *Service) endOtherSessions(ctx context.Context, userID, keep string) (int, error) {
	now := s.now()
	live, err := s.cfg.Sessions.ListSessions(ctx, userID, now)
	if err != nil {
		return 0, internal("list sessions", err)
	}
	done := map[string]bool{keep: true}
	var ids []string
	for _, x := range live {
		if !done[x.ID] {
			ids = append(ids, x.ID)
			done[x.ID] = true
		}
	}
	if err := s.revokeSessions(ctx, now, ids...); err != nil {
		return 0, err
	}
	ended, err := s.cfg.Sessions.RevokeUserSessions(ctx, userID, keep, now)
	if err != nil {
		return 0, internal("end other sessions", err)
	}
	ids = ids[:0]
	for _, id := range ended {
		if !done[id] {
			ids = append(ids, id)
		}
	}
	if err := s.revokeSessions(ctx, now, ids...); err != nil {
		return 0, err
	}
	return len(ended), nil
}

var errRefreshInvalid = newError(CodeUnauthenticated, "refresh token is invalid or expired; log in again")

// Refresh rotates a refresh token: it returns a new access token and the
// next refresh token of the session's chain, and retires the presented one.
//
// A refresh token is a signed statement "session S, generation G"; the
// database stores only the session's current generation. Presenting the
// current generation advances it with a compare-and-swap, so of concurrent
// refreshes exactly one advances the chain. Presenting the immediately
// preceding generation within RefreshReuseGrace of the rotation (another tab
// that raced) is answered with the chain's current refresh token, re-issued
// deterministically. Anything older is a replay: the session is revoked.
func (s *Service) Refresh(ctx context.Context, raw string, client ClientInfo) (TokenPair, error) {
	if raw == "" {
		return TokenPair{}, newError(CodeBadUserInput, "refresh token is required")
	}
	c, err := s.cfg.Verifier.Verify(raw, token.TypeRefresh)
	if err != nil {
		return TokenPair{}, &Error{Code: CodeUnauthenticated, Message: errRefreshInvalid.Message, Err: err}
	}
	for attempt := 0; attempt < 3; attempt++ {
		pair, retry, err := s.refreshOnce(ctx, c)
		if !retry {
			return pair, err
		}
	}
	return TokenPair{}, internal("refresh", errors.New("rotation kept racing"))
}

// refreshOnce makes one attempt; retry is true when the compare-and-swap
// lost and the session must be re-read.
func (s *Service) refreshOnce(ctx context.Context, c token.Claims) (TokenPair, bool, error) {
	now := s.now()
	// One read for the session and its user's standing: a session's user
	// always exists (deleting a user deletes its sessions).
	sess, u, err := s.cfg.Sessions.SessionWithUser(ctx, c.SessionID)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != c.Subject) {
		return TokenPair{}, false, errRefreshInvalid
	}
	if err != nil {
		return TokenPair{}, false, internal("load session", err)
	}
	if !sess.RevokedAt.IsZero() || !sess.ExpiresAt.After(now) {
		return TokenPair{}, false, newError(CodeUnauthenticated, "session has ended; log in again")
	}
	if !u.DisabledAt.IsZero() {
		return TokenPair{}, false, errDisabled
	}
	if chainCut(sess, u) {
		return TokenPair{}, false, newError(CodeUnauthenticated, "session has ended; log in again")
	}
	switch {
	case c.Generation == sess.RefreshGen:
		expires := now.Add(s.cfg.RefreshTokenTTL)
		won, err := s.cfg.Sessions.AdvanceRefresh(ctx, sess.ID, sess.RefreshGen, now, expires)
		if err != nil {
			return TokenPair{}, false, internal("rotate refresh token", err)
		}
		if !won {
			return TokenPair{}, true, nil
		}
		pair, err := s.issuePair(u, sess.ID, sess.RefreshGen+1, now, expires, now)
		return pair, false, err
	case c.Generation == sess.RefreshGen-1 && now.Sub(sess.RotatedAt) <= s.cfg.RefreshReuseGrace:
		pair, err := s.issuePair(u, sess.ID, sess.RefreshGen, sess.RotatedAt, sess.ExpiresAt, now)
		return pair, false, err
	default:
		return TokenPair{}, false, s.refreshReused(ctx, sess, c.Generation, now)
	}
}

// chainCut reports whether sess began before its user's "log out
// everywhere" cut-off. The cut-off is the second after the logout (tokens
// carry whole seconds), so a session begun within the logout's own second
// may be older or newer than it: such a session is left to the database
// (logoutAll ends it) and to its sid revocation.
func chainCut(sess Session, u User) bool {
	return u.TokensValidAfter > 0 && sess.CreatedAt.Unix() < u.TokensValidAfter-1
}

// issuePair issues an access token and the refresh token of generation gen.
func (s *Service) issuePair(u User, sid string, gen int64, rotatedAt, expires, now time.Time) (TokenPair, error) {
	access, ac, err := s.cfg.Issuer.IssueUserAccess(u.ID, sid, issuedAt(u, now), u.EmailVerified())
	if err != nil {
		return TokenPair{}, internal("issue access token", err)
	}
	refresh, _, err := s.cfg.Issuer.IssueRefresh(u.ID, sid, gen, rotatedAt, expires)
	if err != nil {
		return TokenPair{}, internal("issue refresh token", err)
	}
	return TokenPair{Token: access, RefreshToken: refresh, ExpiresAt: time.Unix(ac.ExpiresAt, 0)}, nil
}

// refreshReused handles a replayed refresh token: theft is assumed and the
// whole session ends.
func (s *Service) refreshReused(ctx context.Context, sess Session, gen int64, now time.Time) error {
	s.log.Warn("refresh token reuse detected; ending session",
		"user_id", sess.UserID, "session_id", sess.ID, "presented_gen", gen, "current_gen", sess.RefreshGen)
	s.audit(ctx, AuditEvent{Event: EventRefreshReused, UserID: sess.UserID, SessionID: sess.ID, IP: sess.IPAddress, UserAgent: sess.UserAgent})
	if err := s.revokeSessions(ctx, now, sess.ID); err != nil {
		return err
	}
	if _, err := s.cfg.Sessions.RevokeSession(ctx, sess.ID, now); err != nil {
		return internal("end session", err)
	}
	return newError(CodeRefreshReused, "this refresh token was already used; the session has been ended to protect the account. Log in again.")
}
