package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// The operator's use cases, served by the admin API (internal/admin): they
// act on any account, so they are never reachable from the public API.

var errDisabled = newError(CodeAccountDisabled, "this account is disabled; contact your administrator")

// FindUser returns the account whose email (normalised) or id is query:
// an argument containing "@" is an email. The password hash is cleared.
func (s *Service) FindUser(ctx context.Context, query string) (User, error) {
	query = strings.TrimSpace(query)
	if query == "" || len(query) > 320 {
		return User{}, newError(CodeBadUserInput, "give a user id or an email address")
	}
	var (
		u   User
		err error
	)
	if strings.Contains(query, "@") {
		email, nerr := NormalizeEmail(query)
		if nerr != nil {
			return User{}, nerr
		}
		u, err = s.cfg.Users.UserByEmail(ctx, email)
	} else {
		u, err = s.cfg.Users.UserByID(ctx, query)
	}
	if errors.Is(err, ErrNotFound) {
		return User{}, &Error{Code: CodeNotFound, Message: "no user with that id or email", Err: err}
	}
	if err != nil {
		return User{}, internal("load user", err)
	}
	return u.withoutSecret(), nil
}

// adminUser loads the account id for an admin action.
func (s *Service) adminUser(ctx context.Context, id string) (User, error) {
	if s.cfg.Admin == nil {
		return User{}, internal("admin", errors.New("auth: Config.Admin is not set"))
	}
	if id == "" || len(id) > 64 || strings.Contains(id, "@") {
		return User{}, newError(CodeBadUserInput, "a user id is required (find it with users find EMAIL)")
	}
	u, err := s.cfg.Users.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, &Error{Code: CodeNotFound, Message: "no user with that id", Err: err}
	}
	if err != nil {
		return User{}, internal("load user", err)
	}
	return u, nil
}

// DisableUser disables the account id: login and refresh are refused with
// CodeAccountDisabled, and every token of the account is revoked at every
// validator through a user cut-off (recorded in the revocation journal
// first, so it is never lost), every session ended and revoked by sid.
// Disabling twice succeeds and revokes again.
func (s *Service) DisableUser(ctx context.Context, id string) (User, error) {
	u, err := s.adminUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	if err := s.cfg.Admin.SetDisabled(ctx, id, now); err != nil {
		return User{}, storeErr("disable user", err)
	}
	n, err := s.cutOffUser(ctx, id, now)
	if err != nil {
		return User{}, err
	}
	s.log.Warn("admin: user disabled", "user_id", id, "sessions_ended", n)
	if u.DisabledAt.IsZero() {
		u.DisabledAt = now.UTC()
	}
	return u.withoutSecret(), nil
}

// cutOffUser revokes every token of the user issued until now (a user
// entry, then the cut-off stored) and ends every session.
func (s *Service) cutOffUser(ctx context.Context, id string, now time.Time) (int, error) {
	before := now.Unix() + 1
	if _, err := s.cfg.Revoker.Revoke(ctx, revoke.Entry{
		Kind: revoke.KindUser, ID: id, Before: before, Expires: s.revocationExpiry(now), At: now.Unix(),
	}); err != nil {
		return 0, internal("revoke user", err)
	}
	if err := s.cfg.Users.SetTokensValidAfter(ctx, id, before); err != nil {
		return 0, storeErr("set cut-off", err)
	}
	return s.endOtherSessions(ctx, id, "")
}

// EnableUser lifts DisableUser: the account can log in again (tokens
// revoked while it was disabled stay revoked). Enabling twice succeeds.
func (s *Service) EnableUser(ctx context.Context, id string) (User, error) {
	u, err := s.adminUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	if err := s.cfg.Admin.SetDisabled(ctx, id, time.Time{}); err != nil {
		return User{}, storeErr("enable user", err)
	}
	s.log.Warn("admin: user enabled", "user_id", id)
	u.DisabledAt = time.Time{}
	return u.withoutSecret(), nil
}

// DeleteUser deletes the account id and its sessions, after revoking every
// token of it everywhere; a retry after a failure completes it.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if _, err := s.adminUser(ctx, id); err != nil {
		return err
	}
	now := s.now()
	if err := s.cfg.Admin.SetDisabled(ctx, id, now); err != nil {
		return storeErr("disable user", err)
	}
	if _, err := s.cutOffUser(ctx, id, now); err != nil {
		return err
	}
	if err := s.cfg.Admin.DeleteUser(ctx, id); err != nil {
		return storeErr("delete user", err)
	}
	s.log.Warn("admin: user deleted", "user_id", id)
	return nil
}

// UserSessions lists the live sessions of the account id, newest first.
func (s *Service) UserSessions(ctx context.Context, id string) ([]Session, error) {
	if _, err := s.adminUser(ctx, id); err != nil {
		return nil, err
	}
	return s.Sessions(ctx, Caller{UserID: id})
}

// RevokeUserSession ends the session sid of the account id, revoking its
// tokens everywhere. Revoking an ended session again succeeds.
func (s *Service) RevokeUserSession(ctx context.Context, id, sid string) error {
	if _, err := s.adminUser(ctx, id); err != nil {
		return err
	}
	if err := s.RevokeSession(ctx, Caller{UserID: id}, sid); err != nil {
		return err
	}
	s.log.Warn("admin: session revoked", "user_id", id, "session_id", sid)
	return nil
}
