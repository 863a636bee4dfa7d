package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// The store keeps the auth service's device sessions.
var _ auth.Sessions = (*DB)(nil)

const sessionColumns = "id, user_id, device_type, device_name, ip_address, user_agent, created_at, last_used_at, expires_at, refresh_gen, rotated_at, revoked_at"

// CreateSession stores s. ID, UserID, CreatedAt and ExpiresAt are
// required; a zero LastUsedAt is stored as CreatedAt. An unknown UserID
// yields ErrNotFound.
func (db *DB) CreateSession(ctx context.Context, s auth.Session) error {
	if s.ID == "" || s.UserID == "" || s.CreatedAt.IsZero() || s.ExpiresAt.IsZero() {
		return errors.New("store: create session: id, user id, created and expires are required")
	}
	if s.LastUsedAt.IsZero() {
		s.LastUsedAt = s.CreatedAt
	}
	_, err := db.exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.UserID, s.DeviceType, s.DeviceName, s.IPAddress, s.UserAgent,
		s.CreatedAt.UnixMicro(), s.LastUsedAt.UnixMicro(), s.ExpiresAt.UnixMicro(),
		s.RefreshGen, micros(s.RotatedAt), micros(s.RevokedAt))
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("store: create session: user %q: %w", s.UserID, ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("store: create session: id %q already exists", s.ID)
	case err != nil:
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByID returns the session with id, live or not, or ErrNotFound.
func (db *DB) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	s, err := scanSession(db.queryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.Session{}, ErrNotFound
	case err != nil:
		return auth.Session{}, fmt.Errorf("store: session by id: %w", err)
	}
	return s, nil
}

// sessionWithUserQuery reads a session and the standing of its user in
// one statement.
var sessionWithUserQuery = "SELECT s." + strings.ReplaceAll(sessionColumns, ", ", ", s.") +
	", u.tokens_valid_after, u.disabled_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?"

// SessionWithUser returns the session with id, live or not, and of its
// user the fields that decide whether the session may go on (ID,
// TokensValidAfter, DisabledAt), in one read; ErrNotFound when there is
// no such session.
func (db *DB) SessionWithUser(ctx context.Context, id string) (auth.Session, auth.User, error) {
	var (
		s                          auth.Session
		u                          auth.User
		created, lastUsed, expires int64
		rotated, revoked, disabled sql.NullInt64
	)
	err := db.queryRow(ctx, sessionWithUserQuery, id).Scan(&s.ID, &s.UserID, &s.DeviceType, &s.DeviceName, &s.IPAddress, &s.UserAgent,
		&created, &lastUsed, &expires, &s.RefreshGen, &rotated, &revoked, &u.TokensValidAfter, &disabled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.Session{}, auth.User{}, ErrNotFound
	case err != nil:
		return auth.Session{}, auth.User{}, fmt.Errorf("store: session with user: %w", err)
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.LastUsedAt = time.UnixMicro(lastUsed).UTC()
	s.ExpiresAt = time.UnixMicro(expires).UTC()
	s.RotatedAt = fromMicros(rotated)
	s.RevokedAt = fromMicros(revoked)
	u.ID = s.UserID
	u.DisabledAt = fromMicros(disabled)
	return s, u, nil
}

// ListSessions returns the user's live sessions (not revoked, not expired
// at now), newest first.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	rows, err := db.query(ctx, "SELECT "+sessionColumns+" FROM sessions"+
		" WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC",
		userID, now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []auth.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// AdvanceRefresh is the compare-and-swap of refresh rotation. If session id
// is live at now and still at generation fromGen, it moves to fromGen+1,
// sets RotatedAt and LastUsedAt to now and ExpiresAt to expiresAt, and
// reports true. Otherwise it changes nothing and reports false. Of any
// number of concurrent calls with the same fromGen, on any connection or
// process, exactly one wins: the check and the update are one statement.
func (db *DB) AdvanceRefresh(ctx context.Context, id string, fromGen int64, now, expiresAt time.Time) (bool, error) {
	n := now.UnixMicro()
	res, err := db.exec(ctx, "UPDATE sessions SET refresh_gen = ?, rotated_at = ?, last_used_at = ?, expires_at = ?"+
		" WHERE id = ? AND refresh_gen = ? AND revoked_at IS NULL AND expires_at > ?",
		fromGen+1, n, n, expiresAt.UnixMicro(), id, fromGen, n)
	if err != nil {
		return false, fmt.Errorf("store: advance refresh: %w", err)
	}
	won, err := affectedOne(res)
	if err != nil {
		return false, fmt.Errorf("store: advance refresh: %w", err)
	}
	return won, nil
}

// RevokeSession marks session id revoked at now if it is live. It reports
// false, without error, for an unknown, expired or already revoked
// session, so revoking twice is harmless.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time) (bool, error) {
	n := now.UnixMicro()
	res, err := db.exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND expires_at > ?", n, id, n)
	if err != nil {
		return false, fmt.Errorf("store: revoke session: %w", err)
	}
	ok, err := affectedOne(res)
	if err != nil {
		return false, fmt.Errorf("store: revoke session: %w", err)
	}
	return ok, nil
}

// RevokeUserSessions revokes every live session of the user except
// exceptID ("" = none) and returns the ids it revoked, sorted.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) ([]string, error) {
	n := now.UnixMicro()
	rows, err := db.queryWrite(ctx, "UPDATE sessions SET revoked_at = ?"+
		" WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ? RETURNING id",
		n, userID, exceptID, n)
	if err != nil {
		return nil, fmt.Errorf("store: revoke user sessions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: revoke user sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: revoke user sessions: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

func scanSession(r rowScanner) (auth.Session, error) {
	var (
		s                          auth.Session
		created, lastUsed, expires int64
		rotated, revoked           sql.NullInt64
	)
	err := r.Scan(&s.ID, &s.UserID, &s.DeviceType, &s.DeviceName, &s.IPAddress, &s.UserAgent,
		&created, &lastUsed, &expires, &s.RefreshGen, &rotated, &revoked)
	if err != nil {
		return auth.Session{}, err
	}
	s.CreatedAt = time.UnixMicro(created).UTC()
	s.LastUsedAt = time.UnixMicro(lastUsed).UTC()
	s.ExpiresAt = time.UnixMicro(expires).UTC()
	s.RotatedAt = fromMicros(rotated)
	s.RevokedAt = fromMicros(revoked)
	return s, nil
}

// RevokeSessionsCreatedBefore revokes at now every live session, of any
// user, created before the given time, in one statement, and returns how
// many it revoked (revoking everything issued before a time).
func (db *DB) RevokeSessionsCreatedBefore(ctx context.Context, before, now time.Time) (int, error) {
	n := now.UnixMicro()
	res, err := db.exec(ctx, "UPDATE sessions SET revoked_at = ? WHERE created_at < ? AND revoked_at IS NULL AND expires_at > ?",
		n, before.UnixMicro(), n)
	if err != nil {
		return 0, fmt.Errorf("store: revoke sessions created before: %w", err)
	}
	ended, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke sessions created before: %w", err)
	}
	return int(ended), nil
}
