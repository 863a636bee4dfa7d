package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Defaults of MailConfig's lifetimes.
const (
	DefaultEmailVerificationTTL = 24 * time.Hour
	DefaultPasswordResetTTL     = 30 * time.Minute
)

// MailConfig configures the account lifecycle: the verification mail
// register sends, requestEmailVerification, verifyEmail, the password
// reset and the notices. Zero durations are the defaults.
type MailConfig struct {
	// Tokens stores the links' tokens and enqueues the mail with each
	// change; *store.DB implements it. Nil turns the flows off.
	Tokens AccountTokens
	// Composer composes the letters (sender, Message-ID, MIME parts).
	// Required with Tokens.
	Composer Composer
	// PublicURL is the base of the mailed links (PUBLIC_URL), e.g.
	// "https://auth.example.com": a link is PublicURL + VerifyEmailPath
	// (or ResetPasswordPath) + "?token=" + the token.
	PublicURL string
	// VerificationTTL is how long a verification link works
	// (EMAIL_VERIFICATION_TTL); default DefaultEmailVerificationTTL.
	VerificationTTL time.Duration
	// ResetTTL is how long a password reset link works
	// (PASSWORD_RESET_TTL); default DefaultPasswordResetTTL.
	ResetTTL time.Duration
	// RequireVerifiedEmail (REQUIRE_VERIFIED_EMAIL) refuses login to
	// unverified accounts (CodeEmailNotVerified) and makes register answer
	// alike for new and taken addresses (docs/SECURITY.md).
	RequireVerifiedEmail bool
}

func (m *MailConfig) fill() error {
	switch {
	case (m.Tokens == nil) != (m.Composer == nil):
		return errors.New("auth: Config.Mail needs both Tokens and Composer")
	case m.Tokens != nil && m.PublicURL == "":
		return errors.New("auth: Config.Mail.PublicURL is required for the mailed links")
	case m.Tokens == nil && m.RequireVerifiedEmail:
		return errors.New("auth: Config.Mail.RequireVerifiedEmail needs Tokens and Composer")
	case m.VerificationTTL < 0 || m.ResetTTL < 0:
		return errors.New("auth: Config.Mail: negative link lifetime")
	}
	m.PublicURL = strings.TrimRight(m.PublicURL, "/")
	if m.VerificationTTL == 0 {
		m.VerificationTTL = DefaultEmailVerificationTTL
	}
	if m.ResetTTL == 0 {
		m.ResetTTL = DefaultPasswordResetTTL
	}
	return nil
}

// mailOn reports whether the account lifecycle's mail is configured.
func (s *Service) mailOn() bool { return s.cfg.Mail.Tokens != nil }

// errNotVerified refuses a login under REQUIRE_VERIFIED_EMAIL; it is
// answered only to the right password, so it tells nothing to a guesser.
var errNotVerified = newError(CodeEmailNotVerified,
	"confirm your email address first: we have mailed you a link (check your inbox and spam folder)")

// refuseUnverified answers a login with the right password to an account
// whose address is not verified, under REQUIRE_VERIFIED_EMAIL. Such a user
// cannot call requestEmailVerification (it needs a session), so the
// refusal mails a fresh link, within the mail limits.
func (s *Service) refuseUnverified(ctx context.Context, u User, client ClientInfo) error {
	if err := s.checkMailLimit(ctx, u.Email, client.IP); err != nil {
		if ErrorCode(err) == CodeInternal {
			return err
		}
		return errNotVerified // limited: the earlier links still work
	}
	if err := s.sendVerification(ctx, u); err != nil {
		return err
	}
	return errNotVerified
}

var errMailOff = newError(CodeBadUserInput, "this service sends no mail: email verification and password reset are not configured")

// link is the mailed link to path carrying raw.
func (s *Service) link(path, raw string) string {
	return s.cfg.Mail.PublicURL + path + "?token=" + raw
}

// compose renders letter t to to and composes it.
func (s *Service) compose(t letterTemplate, to string, d letterData, now time.Time) (Mail, error) {
	if d.Email == "" {
		d.Email = to
	}
	d.Time = now.UTC().Format("2006-01-02 15:04 UTC")
	l, err := t.render(to, d)
	if err != nil {
		return Mail{}, internal("render "+t.subject, err)
	}
	m, err := s.cfg.Mail.Composer.Compose(l, now)
	if err != nil {
		return Mail{}, internal("compose "+t.subject, err)
	}
	return m, nil
}

// sendVerification issues a verification link for u's address and queues
// its mail, in one transaction; earlier links of u stop working.
func (s *Service) sendVerification(ctx context.Context, u User) error {
	tok, m, err := s.newToken(PurposeVerifyEmail, u.ID, s.cfg.Mail.VerificationTTL, letterVerifyEmail, VerifyEmailPath, u.Email, s.now())
	if err != nil {
		return err
	}
	if err := s.cfg.Mail.Tokens.IssueAccountToken(ctx, tok, m); err != nil {
		return storeErr("issue verification token", err)
	}
	return nil
}

// newToken returns a fresh token of purpose for userID, valid for ttl,
// and the mail of letter t to to carrying its link to path.
func (s *Service) newToken(purpose TokenPurpose, userID string, ttl time.Duration, t letterTemplate, path, to string, now time.Time) (AccountToken, Mail, error) {
	raw, hash := NewAccountToken()
	tok := AccountToken{ID: uuid.NewString(), UserID: userID, Purpose: purpose, Hash: hash, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	m, err := s.compose(t, to, letterData{Link: s.link(path, raw), TTL: ttlText(ttl)}, now)
	return tok, m, err
}

// createUser stores the account of a registration; with mail on, with its
// verification token and mail in the same transaction. created is false
// when REQUIRE_VERIFIED_EMAIL answered a taken address like a new one
// (registerTaken).
func (s *Service) createUser(ctx context.Context, email, hash, ip string) (u User, created bool, err error) {
	now := s.now()
	if !s.mailOn() {
		u, err = s.cfg.Users.CreateUser(ctx, email, hash, now)
	} else {
		tok, m, merr := s.newToken(PurposeVerifyEmail, "", s.cfg.Mail.VerificationTTL, letterVerifyEmail, VerifyEmailPath, email, now)
		if merr != nil {
			return User{}, false, merr
		}
		u, err = s.cfg.Mail.Tokens.CreateUserWithToken(ctx, email, hash, now, tok, m)
	}
	switch {
	case errors.Is(err, ErrEmailTaken) && s.cfg.Mail.RequireVerifiedEmail:
		u, err = s.registerTaken(ctx, email, hash, ip, now)
		return u, false, err
	case errors.Is(err, ErrEmailTaken):
		return User{}, false, newError(CodeEmailTaken, "an account with this email already exists; log in instead")
	case err != nil:
		return User{}, false, internal("create user", err)
	}
	return u, true, nil
}

// registerTaken answers a registration of an address an account holds,
// under REQUIRE_VERIFIED_EMAIL, exactly as a new one is answered (an
// account that looks freshly made), and mails the address: its verified
// owner gets the "someone tried to register" notice; when the holder never
// verified the address, the registration is kept pending (a register
// token) and the address gets a verification link that, consumed, replaces
// the unverified holder with the new account. Whoever reads the mailbox
// decides; a squatter who cannot does not block the address.
func (s *Service) registerTaken(ctx context.Context, email, hash, ip string, now time.Time) (User, error) {
	holder, err := s.cfg.Users.UserByEmail(ctx, email)
	if err != nil {
		return User{}, storeErr("load user", err)
	}
	answer := User{ID: uuid.NewString(), Email: email, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	// The mail limits bound how often register can make us mail someone;
	// over them, the answer is the same and nothing is sent.
	if err := s.checkMailLimit(ctx, email, ip); err != nil {
		if ErrorCode(err) == CodeRateLimited {
			s.log.Info("registration of a taken address: over the mail limit, nothing sent")
			return answer, nil
		}
		return User{}, err
	}
	if holder.EmailVerified() {
		m, err := s.compose(letterRegisterAttempt, email, letterData{}, now)
		if err != nil {
			return User{}, err
		}
		if err := s.cfg.Mail.Tokens.QueueMail(ctx, now, m); err != nil {
			return User{}, internal("queue notice", err)
		}
		s.log.Info("registration of a verified address: owner notified", "user_id", holder.ID)
	} else {
		tok, m, err := s.newToken(PurposeRegister, holder.ID, s.cfg.Mail.VerificationTTL, letterVerifyEmail, VerifyEmailPath, email, now)
		if err != nil {
			return User{}, err
		}
		tok.NewEmail, tok.PasswordHash = email, hash
		if err := s.cfg.Mail.Tokens.IssueAccountToken(ctx, tok, m); err != nil {
			return User{}, storeErr("store pending registration", err)
		}
		s.log.Info("registration pending on an unverified address", "holder_id", holder.ID)
	}
	return answer, nil
}

// RequestEmailVerification mails the caller a new verification link,
// superseding earlier ones; nothing when the address is already verified.
// Rate limited like a reset request (Limiter.CheckMail).
func (s *Service) RequestEmailVerification(ctx context.Context, c Caller) error {
	if !s.mailOn() {
		return errMailOff
	}
	u, err := s.cfg.Users.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return unauthenticated("account no longer exists", err)
	}
	if err != nil {
		return internal("load user", err)
	}
	if u.EmailVerified() {
		return nil
	}
	if err := s.checkMailLimit(ctx, u.Email, c.Client.IP); err != nil {
		return err
	}
	if err := s.sendVerification(ctx, u); err != nil {
		return err
	}
	s.log.Info("email verification requested", "user_id", u.ID)
	return nil
}

// checkMailLimit charges a mail request for email from ip.
func (s *Service) checkMailLimit(ctx context.Context, email, ip string) error {
	if s.cfg.Limiter == nil {
		return nil
	}
	retry, err := s.cfg.Limiter.CheckMail(ctx, email, ip)
	if err != nil {
		return internal("check mail limit", err)
	}
	if retry > 0 {
		return rateLimited(retry)
	}
	return nil
}

// The errors of a mailed link's token. None tells whether an account
// exists.
var (
	errTokenInvalid = newError(CodeInvalidToken, "This link is not valid: it may have been cut short or changed. Request a new one.")
	errTokenSpent   = newError(CodeInvalidToken, "This link was already used, or a newer one replaced it. Request a new one.")
	errTokenExpired = newError(CodeTokenExpired, "This link has expired. Request a new one.")
)

// accountToken finds the unspent, unexpired token raw of one of purposes.
func (s *Service) accountToken(ctx context.Context, raw string, now time.Time, purposes ...TokenPurpose) (AccountToken, error) {
	if !s.mailOn() {
		return AccountToken{}, errMailOff
	}
	if !wellFormedToken(raw) {
		return AccountToken{}, errTokenInvalid
	}
	t, err := s.cfg.Mail.Tokens.AccountTokenByHash(ctx, HashAccountToken(raw))
	switch {
	case errors.Is(err, ErrNotFound):
		return AccountToken{}, errTokenInvalid
	case err != nil:
		return AccountToken{}, internal("load account token", err)
	case !slices.Contains(purposes, t.Purpose):
		return AccountToken{}, errTokenInvalid
	case !t.UsedAt.IsZero():
		return AccountToken{}, errTokenSpent
	case !now.Before(t.ExpiresAt):
		return AccountToken{}, errTokenExpired
	}
	return t, nil
}

// consumeErr turns ConsumeAccountToken's errors into the service's.
func consumeErr(err error) error {
	switch {
	case errors.Is(err, ErrTokenSpent):
		return errTokenSpent
	case errors.Is(err, ErrEmailTaken):
		return newError(CodeEmailTaken, "another account holds this address now; log in to it instead, or use another address")
	case err != nil:
		return internal("consume account token", err)
	}
	return nil
}

// VerifyEmail consumes a verification link's token: the account's address
// is verified. It also consumes the links that verify an address for
// something else: a new address (change_email: it replaces the account's)
// and a pending registration (register: the new account replaces the
// unverified one that held the address).
func (s *Service) VerifyEmail(ctx context.Context, raw string) error {
	now := s.now()
	t, err := s.accountToken(ctx, raw, now, PurposeVerifyEmail, PurposeChangeEmail, PurposeRegister)
	if err != nil {
		return err
	}
	var ch AccountChange
	switch t.Purpose {
	case PurposeVerifyEmail:
		ch.VerifyEmail = true
	case PurposeChangeEmail:
		ch.Email = t.NewEmail
	case PurposeRegister:
		ch.Replace = &User{ID: uuid.NewString(), Email: t.NewEmail, PasswordHash: t.PasswordHash, CreatedAt: now}
	}
	err = consumeErr(s.cfg.Mail.Tokens.ConsumeAccountToken(ctx, t.ID, now, ch))
	if t.Purpose == PurposeChangeEmail && ErrorCode(err) == CodeEmailTaken {
		return errChangeTaken
	}
	if err != nil {
		return err
	}
	switch t.Purpose {
	case PurposeRegister:
		s.log.Info("pending registration confirmed; unverified holder replaced", "user_id", ch.Replace.ID, "replaced_id", t.UserID)
		s.audit(ctx, AuditEvent{Event: EventEmailVerified, UserID: ch.Replace.ID, Detail: "registration replaced unverified account " + t.UserID})
	default:
		s.log.Info("email verified", "user_id", t.UserID, "purpose", string(t.Purpose))
		s.audit(ctx, AuditEvent{Event: EventEmailVerified, UserID: t.UserID, Detail: string(t.Purpose)})
	}
	return nil
}

// The audit events of the account lifecycle.
const (
	EventEmailVerified = "email.verified" // verifyEmail, any purpose
	EventPasswordReset = "password.reset" // resetPassword
)

// CheckEmailLink reports, without spending it, whether raw is a usable
// token of a link VerifyEmail consumes: the page a link opens shows the
// refusal at once instead of after a click.
func (s *Service) CheckEmailLink(ctx context.Context, raw string) error {
	_, err := s.accountToken(ctx, raw, s.now(), PurposeVerifyEmail, PurposeChangeEmail, PurposeRegister)
	return err
}
