package auth

import (
	"context"
	"errors"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/token"
)

// WithdrawKey withdraws the signing key kid (leaked, or retired early): the
// key stops signing and is replaced, and a key revocation (kind "kid") makes
// every validator refuse the tokens it signed, cached or not, within the
// usual revocation latency. It succeeds only once both are done; retrying
// a failed call completes it. An operator action (cmd/server keys
// withdraw), not a GraphQL operation.
func (s *Service) WithdrawKey(ctx context.Context, kid string) error {
	if s.cfg.Keys == nil {
		return &Error{Code: CodeBadUserInput, Message: "signing keys cannot be withdrawn with a shared JWT_SECRET; rotate the secret instead"}
	}
	if kid == "" || len(kid) > 256 {
		return &Error{Code: CodeBadUserInput, Message: "a key id (kid) is required"}
	}
	until, err := s.cfg.Keys.Withdraw(ctx, kid)
	if errors.Is(err, token.ErrUnknownKey) {
		return &Error{Code: CodeNotFound, Message: "no signing key with that kid", Err: err}
	}
	if err != nil {
		return internal("withdraw key", err)
	}
	now := s.now()
	if _, err := s.cfg.Revoker.Revoke(ctx, revoke.Entry{
		Kind: revoke.KindKey, ID: kid, Expires: until.Add(s.cfg.ClockSkew).Unix(), At: now.Unix(),
	}); err != nil {
		return internal("revoke key", err)
	}
	s.log.Warn("auth: signing key withdrawn and revoked", "kid", kid, "revoked_until", until)
	s.audit(ctx, AuditEvent{Event: EventKeyWithdrawn, Detail: "kid " + kid})
	return nil
}
