package auth

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/authmesh/authmesh/internal/revoke"
)

// RequestPasswordReset mails a reset link to email when it has an
// account. It answers the same, doing the same work, whether or not the
// account exists: one lookup, one token and letter composed, and one
// IssueAccountToken transaction (for an unknown address it names a user id
// that does not exist, so the store finds no user and writes nothing). Only
// the outbox row, written inside that transaction, differs, and the caller
// cannot see it. Rate limited per address and per client (Limiter.CheckMail).
func (s *Service) RequestPasswordReset(ctx context.Context, email string, client ClientInfo) error {
	if !s.mailOn() {
		return errMailOff
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.checkMailLimit(ctx, email, client.IP); err != nil {
		return err
	}
	now := s.now()
	u, err := s.cfg.Users.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return internal("load user", err)
	}
	if !known {
		u.ID = uuid.NewString() // no such user: the store will write nothing
	}
	tok, m, err := s.newToken(PurposeResetPassword, u.ID, s.cfg.Mail.ResetTTL, letterResetPassword, ResetPasswordPath, email, now)
	if err != nil {
		return err
	}
	err = s.cfg.Mail.Tokens.IssueAccountToken(ctx, tok, m)
	switch {
	case errors.Is(err, ErrNotFound) && !known:
	case err != nil:
		return storeErr("issue reset token", err)
	}
	if known {
		s.log.Info("password reset requested", "user_id", u.ID)
	}
	return nil
}

// ResetPassword consumes a reset link's token: the account gets
// newPassword (the registration policy applies), every session of it ends
// through the revocation path logoutAll uses (the user cut-off, then each
// session by sid: recorded before the password changes, so a failure
// leaves the token unspent for a retry), every other pending link is
// spent, and the "your password was changed" notice is enqueued with the
// change. Consuming the link proves the mailbox, so the address is marked
// verified too.
func (s *Service) ResetPassword(ctx context.Context, raw, newPassword string) error {
	now := s.now()
	t, err := s.accountToken(ctx, raw, now, PurposeResetPassword)
	if err != nil {
		return err
	}
	if err := s.cfg.PasswordPolicy(newPassword); err != nil {
		return &Error{Code: CodeBadUserInput, Message: "new password: " + err.Error()}
	}
	u, err := s.cfg.Users.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return errTokenInvalid // the account was deleted since
	}
	if err != nil {
		return internal("load user", err)
	}
	hash, err := s.cfg.Passwords.Hash(ctx, newPassword)
	if err != nil {
		return internal("hash password", err)
	}
	before := now.Unix() + 1 // as logoutAll: tokens carry whole seconds
	if _, err := s.cfg.Revoker.Revoke(ctx, revoke.Entry{
		Kind: revoke.KindUser, ID: u.ID, Before: before, Expires: s.revocationExpiry(now), At: now.Unix(),
	}); err != nil {
		return internal("revoke user", err)
	}
	if err := s.cfg.Users.SetTokensValidAfter(ctx, u.ID, before); err != nil {
		return internal("set cut-off", err)
	}
	ended, err := s.endOtherSessions(ctx, u.ID, "")
	if err != nil {
		return err
	}
	notice, err := s.compose(letterPasswordChanged, u.Email, letterData{}, now)
	if err != nil {
		return err
	}
	if err := consumeErr(s.cfg.Mail.Tokens.ConsumeAccountToken(ctx, t.ID, now, AccountChange{PasswordHash: hash, VerifyEmail: true}, notice)); err != nil {
		return err
	}
	s.log.Info("password reset", "user_id", u.ID, "sessions_ended", ended)
	s.audit(ctx, AuditEvent{Event: EventPasswordReset, UserID: u.ID})
	return nil
}

// spendAccountTokens voids the user's pending links (a password change).
func (s *Service) spendAccountTokens(ctx context.Context, userID string) error {
	if !s.mailOn() {
		return nil
	}
	if err := s.cfg.Mail.Tokens.SpendAccountTokens(ctx, userID, s.now()); err != nil {
		return internal("spend account tokens", err)
	}
	return nil
}

// CheckResetLink reports, without spending it, whether raw is a usable
// password reset token.
func (s *Service) CheckResetLink(ctx context.Context, raw string) error {
	_, err := s.accountToken(ctx, raw, s.now(), PurposeResetPassword)
	return err
}
