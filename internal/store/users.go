package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// User is an account. Email is stored as given: the caller normalises it.
type User struct {
	ID           string
	Email        string
	PasswordHash string // PHC string, never the password
	CreatedAt    time.Time
	LastLoginAt  time.Time // zero if never
	// TokensValidAfter is the unix second before which every token of the
	// user is void (set on password change); 0 = none.
	TokensValidAfter int64
}

const userColumns = "id, email, password_hash, created_at, last_login_at, tokens_valid_after"

// CreateUser stores a new user with a random (v4 UUID) id. An email that
// is already registered yields ErrEmailTaken.
func (db *DB) CreateUser(ctx context.Context, email, passwordHash string, now time.Time) (User, error) {
	if email == "" || passwordHash == "" {
		return User{}, errors.New("store: create user: email and password hash are required")
	}
	u := User{ID: uuid.NewString(), Email: email, PasswordHash: passwordHash, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	_, err := db.exec(ctx, "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
		u.ID, u.Email, u.PasswordHash, u.CreatedAt.UnixMicro())
	switch {
	case isUniqueViolation(err):
		return User{}, ErrEmailTaken
	case err != nil:
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// UserByEmail returns the user registered with email, or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	return db.userWhere(ctx, "email", email)
}

// UserByID returns the user with id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (User, error) {
	return db.userWhere(ctx, "id", id)
}

func (db *DB) userWhere(ctx context.Context, column, value string) (User, error) {
	var (
		u         User
		created   int64
		lastLogin sql.NullInt64
	)
	err := db.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+column+" = ?", value).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &created, &lastLogin, &u.TokensValidAfter)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, ErrNotFound
	case err != nil:
		return User{}, fmt.Errorf("store: user by %s: %w", column, err)
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	u.LastLoginAt = fromMicros(lastLogin)
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
