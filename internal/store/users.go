package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/authmesh/authmesh/internal/auth"
)

// The store keeps the auth service's accounts.
var _ auth.Users = (*DB)(nil)

const userColumns = "id, email, password_hash, created_at, last_login_at, tokens_valid_after, disabled_at, email_verified_at"

// CreateUser stores a new user with a random (v4 UUID) id. An email that
// is already registered yields ErrEmailTaken.
func (db *DB) CreateUser(ctx context.Context, email, passwordHash string, now time.Time) (auth.User, error) {
	if email == "" || passwordHash == "" {
		return auth.User{}, errors.New("store: create user: email and password hash are required")
	}
	u := auth.User{ID: uuid.NewString(), Email: email, PasswordHash: passwordHash, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	_, err := db.exec(ctx, "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
		u.ID, u.Email, u.PasswordHash, u.CreatedAt.UnixMicro())
	switch {
	case isUniqueViolation(err):
		return auth.User{}, ErrEmailTaken
	case err != nil:
		return auth.User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// UserByEmail returns the user registered with email, or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return db.userWhere(ctx, "email", email)
}

// UserByID returns the user with id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (auth.User, error) {
	return db.userWhere(ctx, "id", id)
}

func (db *DB) userWhere(ctx context.Context, column, value string) (auth.User, error) {
	var (
		u         auth.User
		created   int64
		lastLogin sql.NullInt64
		disabled  sql.NullInt64
		verified  sql.NullInt64
	)
	err := db.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+column+" = ?", value).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &created, &lastLogin, &u.TokensValidAfter, &disabled, &verified)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.User{}, ErrNotFound
	case err != nil:
		return auth.User{}, fmt.Errorf("store: user by %s: %w", column, err)
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	u.LastLoginAt = fromMicros(lastLogin)
	u.DisabledAt = fromMicros(disabled)
	u.EmailVerifiedAt = fromMicros(verified)
	return u, nil
}

// SetPassword replaces the user's password hash; ErrNotFound for an
// unknown user.
func (db *DB) SetPassword(ctx context.Context, userID, passwordHash string) error {
	if passwordHash == "" {
		return errors.New("store: set password: empty hash")
	}
	return db.updateUser(ctx, "set password", "UPDATE users SET password_hash = ? WHERE id = ?", passwordHash, userID)
}

// SetLastLogin records the time of a successful login; ErrNotFound for an
// unknown user.
func (db *DB) SetLastLogin(ctx context.Context, userID string, at time.Time) error {
	return db.updateUser(ctx, "set last login", "UPDATE users SET last_login_at = ? WHERE id = ?", micros(at), userID)
}

// SetTokensValidAfter raises the user's tokens-valid-after mark to unix
// seconds; a lower value than the stored one leaves it unchanged (no
// error). ErrNotFound for an unknown user.
func (db *DB) SetTokensValidAfter(ctx context.Context, userID string, unix int64) error {
	return db.updateUser(ctx, "set tokens valid after",
		"UPDATE users SET tokens_valid_after = CASE WHEN tokens_valid_after < ? THEN ? ELSE tokens_valid_after END WHERE id = ?",
		unix, unix, userID)
}

// SetDisabled disables the user at at (a zero at enables it again);
// ErrNotFound for an unknown user.
func (db *DB) SetDisabled(ctx context.Context, userID string, at time.Time) error {
	return db.updateUser(ctx, "set disabled", "UPDATE users SET disabled_at = ? WHERE id = ?", micros(at), userID)
}

// DeleteUser deletes the user and, by cascade, their sessions;
// ErrNotFound for an unknown user.
func (db *DB) DeleteUser(ctx context.Context, userID string) error {
	return db.updateUser(ctx, "delete user", "DELETE FROM users WHERE id = ?", userID)
}

// updateUser runs an UPDATE of one user row; both dialects count matched
// rows, so zero affected means the user does not exist.
func (db *DB) updateUser(ctx context.Context, op, query string, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
