package auth

import (
	"context"
	"errors"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// RevokeIssuedBefore revokes every token issued before t, of every user
// (userID "") or of one user, as one revocation entry rather than one per
// token or session: kind "all" (revoke.KindAll) or kind "sub"
// (revoke.KindUser) with the cut-off. It is the response to an incident
// such as a leaked key or token store. Validators refuse the access tokens
// within the usual revocation latency, whenever they start; and the device
// sessions begun before t end in the database, so their refresh tokens
// stop working too. It returns how many sessions it ended.
//
// The cut-off is t rounded up to the whole second (tokens carry whole
// seconds), so a token issued within t's second is refused too; t may not
// lie in the future. Repeating the call succeeds (the entries merge); a
// failed call changes nothing the caller relies on, and a retry completes
// it. An operator action (cmd/server revoke-before; the admin API), not a
// GraphQL operation.
//
// One access token may escape a cut-off in the past: a refresh that read
// its session just before the database update mints a token issued after
// t, which lives until it expires (AccessTokenTTL). With the per-user form
// the sessions are also revoked by sid, which closes that gap; with t =
// now the cut-off already covers it.
func (s *Service) RevokeIssuedBefore(ctx context.Context, t time.Time, userID string) (int, error) {
	now := s.now()
	switch {
	case t.IsZero() || t.Unix() <= 0:
		return 0, newError(CodeBadUserInput, "a cut-off time is required")
	case t.After(now):
		return 0, newError(CodeBadUserInput, "the cut-off time lies in the future; give a past time or now")
	case len(userID) > 256:
		return 0, newError(CodeBadUserInput, "user id is too long")
	}
	before := t.Unix()
	if t.Nanosecond() > 0 {
		before++
	}
	entry := revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: before, Expires: s.revocationExpiry(now), At: now.Unix()}
	if userID != "" {
		if _, err := s.cfg.Users.UserByID(ctx, userID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return 0, &Error{Code: CodeNotFound, Message: "no user with that id", Err: err}
			}
			return 0, internal("load user", err)
		}
		entry.Kind, entry.ID = revoke.KindUser, userID
	}
	// As everywhere: the revocation first, then the database.
	if _, err := s.cfg.Revoker.Revoke(ctx, entry); err != nil {
		return 0, internal("revoke tokens issued before", err)
	}
	var ended int
	var err error
	if userID == "" {
		ended, err = s.cfg.Sessions.RevokeSessionsCreatedBefore(ctx, time.Unix(before, 0), now)
		if err != nil {
			return 0, internal("end sessions", err)
		}
	} else if ended, err = s.endUserSessionsBefore(ctx, userID, before, now); err != nil {
		return 0, err
	}
	s.log.Warn("auth: revoked every token issued before the cut-off", "user_id", userID, "before", time.Unix(before, 0).UTC(), "sessions_ended", ended)
	s.audit(ctx, AuditEvent{Event: EventRevokedBefore, UserID: userID, Detail: "before " + time.Unix(before, 0).UTC().Format(time.RFC3339)})
	return ended, nil
}

// endUserSessionsBefore ends the user's live sessions begun before the
// cut-off (unix seconds): by sid first, then in the database. It raises the
// user's cut-off too, so a refresh of such a session is refused.
func (s *Service) endUserSessionsBefore(ctx context.Context, userID string, before int64, now time.Time) (int, error) {
	if err := s.cfg.Users.SetTokensValidAfter(ctx, userID, before); err != nil {
		return 0, internal("set cut-off", err)
	}
	live, err := s.cfg.Sessions.ListSessions(ctx, userID, now)
	if err != nil {
		return 0, internal("list sessions", err)
	}
	ended := 0
	for _, x := range live {
		if x.CreatedAt.Unix() >= before {
			continue
		}
		if err := s.revokeSessions(ctx, now, x.ID); err != nil {
			return 0, err
		}
		ok, err := s.cfg.Sessions.RevokeSession(ctx, x.ID, now)
		if err != nil {
			return 0, internal("end session", err)
		}
		if ok {
			ended++
		}
	}
	return ended, nil
}
