package auth

import (
	"context"
	"errors"
)

// EventEmailChangeRequested is the audit event of changeEmail; the change
// itself is EventEmailVerified with detail "change_email".
const EventEmailChangeRequested = "email.change_requested"

// errChangeTaken refuses the link of an email change whose address
// another account took after the request.
var errChangeTaken = newError(CodeEmailTaken, "another account has taken this address since the change was requested; your account keeps its current address")

// ChangeEmail starts moving the caller's account to newEmail. After the
// caller's password is checked (charged like ChangePassword's), one
// transaction stores a change_email token (spending any earlier one) and
// queues a confirmation link to newEmail and a notice to the current
// address. Nothing changes until the link is consumed (verifyEmail, the
// /verify-email page), which checks again that no other account has the
// address meanwhile and leaves the new address verified. A password
// change, or a newer changeEmail, voids a pending change.
//
// An address another account holds is EMAIL_TAKEN, as register says,
// unless REQUIRE_VERIFIED_EMAIL is set: then the answer is the same as for
// a free address and the address gets no link, so the mutation tells no
// more than register does.
func (s *Service) ChangeEmail(ctx context.Context, c Caller, newEmail, password string) error {
	if !s.mailOn() {
		return errMailOff
	}
	email, err := NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	u, err := s.cfg.Users.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return unauthenticated("account no longer exists", err)
	}
	if err != nil {
		return internal("load user", err)
	}
	if email == u.Email {
		return newError(CodeBadUserInput, "this is already the account's email address")
	}
	if err := s.checkCallerPassword(ctx, c, u, password); err != nil {
		return err
	}
	if err := s.checkMailLimit(ctx, email, c.Client.IP); err != nil {
		return err
	}
	_, err = s.cfg.Users.UserByEmail(ctx, email)
	taken := err == nil
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		return internal("load user", err)
	case taken && !s.cfg.Mail.RequireVerifiedEmail:
		return newError(CodeEmailTaken, "another account has this email address")
	}
	now := s.now()
	tok, link, err := s.newToken(PurposeChangeEmail, u.ID, s.cfg.Mail.VerificationTTL, letterConfirmNewEmail, VerifyEmailPath, email, now)
	if err != nil {
		return err
	}
	tok.NewEmail = email
	notice, err := s.compose(letterEmailChanging, u.Email, letterData{NewEmail: email}, now)
	if err != nil {
		return err
	}
	mails := []Mail{link, notice}
	if taken {
		mails = []Mail{notice}
	}
	if err := s.cfg.Mail.Tokens.IssueAccountToken(ctx, tok, mails...); err != nil {
		return storeErr("issue email change token", err)
	}
	s.log.Info("email change requested", "user_id", u.ID)
	s.audit(ctx, AuditEvent{Event: EventEmailChangeRequested, UserID: u.ID, SessionID: c.SessionID, IP: clean(c.Client.IP, 64), UserAgent: clean(c.Client.UserAgent, 512)})
	return nil
}
