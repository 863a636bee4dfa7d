package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/authmesh/authmesh/internal/revoke"
)

// MaxRevokeUsers bounds the accounts one RevokeUsers call takes; larger
// incidents call it repeatedly (each call is complete on its own), or use
// RevokeIssuedBefore when every account is concerned.
const MaxRevokeUsers = 100_000

// RevokeUsers revokes every token of each of the accounts issued until
// now, and ends all their sessions: "log out everywhere" for many accounts
// at once, as after a breach of a known set of accounts. The revocations
// are bulk ones: one user cut-off entry per account and one sid entry per
// session, written in batches of revoke.MaxBatch (one journal transaction
// and one announcement to the validators per batch) when the revocation
// store can (revoke.BulkRevoker), so that validators hold them all
// milliseconds after the last batch. Each account's cut-off is then stored
// and its sessions ended in the database, as DisableUser does, without
// disabling the account: its owner can log in again.
//
// Every id must name an existing account (CodeNotFound names the first
// that does not) and ids may repeat; nothing is revoked unless all exist.
// Repeating the call succeeds; after a failure a retry completes it. It
// returns how many sessions it ended. An operator action, not a GraphQL
// operation.
func (s *Service) RevokeUsers(ctx context.Context, userIDs []string) (int, error) {
	switch {
	case len(userIDs) == 0:
		return 0, newError(CodeBadUserInput, "no user ids given")
	case len(userIDs) > MaxRevokeUsers:
		return 0, newError(CodeBadUserInput, fmt.Sprintf("at most %d user ids per call; split the list", MaxRevokeUsers))
	}
	ids := make([]string, 0, len(userIDs))
	seen := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		if id == "" || len(id) > 256 {
			return 0, newError(CodeBadUserInput, "a user id is empty or too long")
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.cfg.Users.UserByID(ctx, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return 0, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no user with id %.256q", id), Err: err}
			}
			return 0, internal("load user", err)
		}
		ids = append(ids, id)
	}
	now := s.now()
	before := now.Unix() + 1
	entries := make([]revoke.Entry, len(ids))
	for i, id := range ids {
		entries[i] = revoke.Entry{Kind: revoke.KindUser, ID: id, Before: before, Expires: s.revocationExpiry(now), At: now.Unix()}
	}
	// As everywhere: the revocations first, then the database.
	if err := s.revokeEntries(ctx, entries); err != nil {
		return 0, internal("revoke users", err)
	}
	var sids []string
	for _, id := range ids {
		if err := s.cfg.Users.SetTokensValidAfter(ctx, id, before); err != nil {
			return 0, storeErr("set cut-off", err)
		}
		ended, err := s.cfg.Sessions.RevokeUserSessions(ctx, id, "", now)
		if err != nil {
			return 0, internal("end sessions", err)
		}
		sids = append(sids, ended...)
	}
	// Ended sessions by sid too, as logoutAll does: a token a racing
	// refresh minted at the cut-off is still refused.
	if err := s.revokeSessions(ctx, now, sids...); err != nil {
		return 0, err
	}
	s.log.Warn("auth: revoked every token of many users", "users", len(ids), "sessions_ended", len(sids))
	s.audit(ctx, AuditEvent{Event: EventRevokedBefore, Detail: fmt.Sprintf("%d users, before %s", len(ids), now.UTC().Format("2006-01-02T15:04:05Z"))})
	return len(sids), nil
}
