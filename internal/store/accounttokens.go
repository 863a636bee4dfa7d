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

// The store keeps the single-use tokens of mailed links (hashes only) and
// writes each with its message in one transaction.
var _ auth.AccountTokens = (*DB)(nil)

const accountTokenColumns = "id, user_id, purpose, token_hash, new_email, password_hash, created_at, expires_at, used_at"

// CreateUserWithToken implements auth.AccountTokens: the account, its
// first token and the message carrying it commit together or not at all.
func (db *DB) CreateUserWithToken(ctx context.Context, email, passwordHash string, now time.Time, t auth.AccountToken, mails ...auth.Mail) (auth.User, error) {
	if email == "" || passwordHash == "" {
		return auth.User{}, errors.New("store: create user: email and password hash are required")
	}
	u := auth.User{ID: uuid.NewString(), Email: email, PasswordHash: passwordHash, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	t.UserID = u.ID
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q("INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)"),
			u.ID, u.Email, u.PasswordHash, u.CreatedAt.UnixMicro())
		if isUniqueViolation(err) {
			return ErrEmailTaken
		}
		if err != nil {
			return err
		}
		return db.issueTx(ctx, tx, t, now, mails)
	})
	if errors.Is(err, ErrEmailTaken) {
		return auth.User{}, ErrEmailTaken
	}
	if err != nil {
		return auth.User{}, fmt.Errorf("store: create user with token: %w", err)
	}
	return u, nil
}

// IssueAccountToken implements auth.AccountTokens.
func (db *DB) IssueAccountToken(ctx context.Context, t auth.AccountToken, mails ...auth.Mail) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error { return db.issueTx(ctx, tx, t, t.CreatedAt, mails) })
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: issue %s token: %w", t.Purpose, err)
	}
	return nil
}

// issueTx spends the user's unspent tokens of t's purpose, stores t and
// enqueues mails, inside tx.
func (db *DB) issueTx(ctx context.Context, tx *sql.Tx, t auth.AccountToken, now time.Time, mails []auth.Mail) error {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	if t.UserID == "" || t.Hash == "" || t.Purpose == "" {
		return errors.New("user id, purpose and hash are required")
	}
	if _, err := tx.ExecContext(ctx, db.q("UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL"),
		micros(now), t.UserID, string(t.Purpose)); err != nil {
		return err
	}
	// Inserted only if the user exists: an unknown user (a reset request
	// for an address without an account) writes nothing, without the
	// foreign-key error PostgreSQL would log for every such request.
	res, err := tx.ExecContext(ctx, db.q("INSERT INTO account_tokens ("+accountTokenColumns+") SELECT ?, ?, ?, ?, ?, ?, ?, ?, NULL WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)"),
		t.ID, t.UserID, string(t.Purpose), t.Hash, nullString(t.NewEmail), nullString(t.PasswordHash), micros(t.CreatedAt), micros(t.ExpiresAt), t.UserID)
	if isForeignKeyViolation(err) {
		return ErrNotFound // the user was deleted meanwhile
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = ErrNotFound
		}
		return err
	}
	return db.queueTx(ctx, tx, now, mails)
}

// AccountTokenByHash implements auth.AccountTokens.
func (db *DB) AccountTokenByHash(ctx context.Context, hash string) (auth.AccountToken, error) {
	var (
		t                     auth.AccountToken
		purpose               string
		newEmail, pwHash      sql.NullString
		created, expires, use sql.NullInt64
	)
	err := db.queryRow(ctx, "SELECT "+accountTokenColumns+" FROM account_tokens WHERE token_hash = ?", hash).
		Scan(&t.ID, &t.UserID, &purpose, &t.Hash, &newEmail, &pwHash, &created, &expires, &use)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.AccountToken{}, ErrNotFound
	case err != nil:
		return auth.AccountToken{}, fmt.Errorf("store: account token by hash: %w", err)
	}
	t.Purpose, t.NewEmail, t.PasswordHash = auth.TokenPurpose(purpose), newEmail.String, pwHash.String
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(use)
	return t, nil
}

// ConsumeAccountToken implements auth.AccountTokens: spending the token,
// the change and its mail commit together, and of concurrent consumers of
// one token exactly one gets past the guarded UPDATE.
func (db *DB) ConsumeAccountToken(ctx context.Context, id string, now time.Time, ch auth.AccountChange, mails ...auth.Mail) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, db.q("UPDATE account_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id"),
			micros(now), id, micros(now)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrTokenSpent
		}
		if err != nil {
			return err
		}
		if err := db.applyTx(ctx, tx, userID, now, ch); err != nil {
			return err
		}
		return db.queueTx(ctx, tx, now, mails)
	})
	switch {
	case errors.Is(err, auth.ErrTokenSpent), errors.Is(err, ErrEmailTaken):
		return err
	case err != nil:
		return fmt.Errorf("store: consume account token: %w", err)
	}
	return nil
}

// applyTx makes the change ch to user userID inside tx.
func (db *DB) applyTx(ctx context.Context, tx *sql.Tx, userID string, now time.Time, ch auth.AccountChange) error {
	exec := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, db.q(query), args...)
		if isUniqueViolation(err) {
			return ErrEmailTaken
		}
		return err
	}
	if ch.Replace != nil {
		var verified sql.NullInt64
		err := tx.QueryRowContext(ctx, db.q("SELECT email_verified_at FROM users WHERE id = ?"), userID).Scan(&verified)
		switch {
		case err == nil && verified.Valid:
			return ErrEmailTaken // the holder proved the address first
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := exec("DELETE FROM users WHERE id = ?", userID); err != nil {
			return err
		}
		u := ch.Replace
		return exec("INSERT INTO users (id, email, password_hash, created_at, email_verified_at) VALUES (?, ?, ?, ?, ?)",
			u.ID, u.Email, u.PasswordHash, micros(u.CreatedAt), micros(now))
	}
	if ch.Email != "" {
		if err := exec("UPDATE users SET email = ?, email_verified_at = ? WHERE id = ?", ch.Email, micros(now), userID); err != nil {
			return err
		}
	}
	if ch.VerifyEmail {
		if err := exec("UPDATE users SET email_verified_at = ? WHERE id = ? AND email_verified_at IS NULL", micros(now), userID); err != nil {
			return err
		}
	}
	if ch.PasswordHash != "" {
		if err := exec("UPDATE users SET password_hash = ? WHERE id = ?", ch.PasswordHash, userID); err != nil {
			return err
		}
		if err := exec("UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL", micros(now), userID); err != nil {
			return err
		}
	}
	return nil
}

// SpendAccountTokens implements auth.AccountTokens.
func (db *DB) SpendAccountTokens(ctx context.Context, userID string, now time.Time) error {
	if _, err := db.exec(ctx, "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL", micros(now), userID); err != nil {
		return fmt.Errorf("store: spend account tokens: %w", err)
	}
	return nil
}

// QueueMail implements auth.AccountTokens.
func (db *DB) QueueMail(ctx context.Context, now time.Time, mails ...auth.Mail) error {
	if len(mails) == 0 {
		return nil
	}
	if err := db.writeTx(ctx, func(tx *sql.Tx) error { return db.queueTx(ctx, tx, now, mails) }); err != nil {
		return fmt.Errorf("store: queue mail: %w", err)
	}
	return nil
}

// queueTx adds mails to the outbox inside tx, due at now.
func (db *DB) queueTx(ctx context.Context, tx *sql.Tx, now time.Time, mails []auth.Mail) error {
	for _, m := range mails {
		if _, err := tx.ExecContext(ctx, db.q(insertMail), m.ID, m.From, m.To, m.Subject, m.Data, micros(now), micros(now)); err != nil {
			return err
		}
	}
	return nil
}

// writeTx runs f in one write transaction, again when an attempt failed
// without committing (see inTx). f's sentinel errors come back unwrapped.
func (db *DB) writeTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return db.inTx(ctx, func(committing *bool) error {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := f(tx); err != nil {
			return err
		}
		*committing = true
		return tx.Commit()
	})
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// PruneAccountTokens deletes the tokens that expired before before, spent
// or not, and returns how many it deleted. A link older than that is then
// answered "not valid" rather than "already used", which is as true.
func (db *DB) PruneAccountTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, "DELETE FROM account_tokens WHERE expires_at < ?", micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune account tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune account tokens: %w", err)
	}
	return n, nil
}
