package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/authmesh/authmesh/internal/mail"
)

var _ mail.OutboxStore = (*DB)(nil)

// maxMailError bounds the last delivery error kept with a message.
const maxMailError = 1000

// insertMail adds a message to the outbox; a change that causes a message
// runs it inside its own transaction, so the message exists exactly when
// the change does.
const insertMail = "INSERT INTO mail_outbox (message_id, sender, recipient, subject, data, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)"

// EnqueueMail adds env to the outbox, due at now, on its own.
func (db *DB) EnqueueMail(ctx context.Context, env mail.Envelope, now time.Time) error {
	if _, err := db.exec(ctx, insertMail, mailArgs(env, now)...); err != nil {
		return fmt.Errorf("store: enqueue mail: %w", err)
	}
	return nil
}

func mailArgs(env mail.Envelope, now time.Time) []any {
	return []any{env.ID, env.From, env.To, env.Subject, env.Data, micros(now), micros(now)}
}

// ClaimMail implements mail.OutboxStore: one statement takes the due rows
// (skipping, on PostgreSQL, rows another replica is claiming at the same
// moment) and moves their next attempt a lease ahead.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]mail.Queued, error) {
	lock := ""
	if db.dialect == DialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := db.queryWrite(ctx, "UPDATE mail_outbox SET next_attempt_at = ?, attempts = attempts + 1 WHERE id IN ("+
		"SELECT id FROM mail_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"+lock+
		") RETURNING id, message_id, sender, recipient, subject, data, created_at, attempts",
		micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim mail: %w", err)
	}
	defer rows.Close()
	var out []mail.Queued
	for rows.Next() {
		var q mail.Queued
		var created sql.NullInt64
		if err := rows.Scan(&q.OutboxID, &q.Envelope.ID, &q.Envelope.From, &q.Envelope.To, &q.Envelope.Subject, &q.Envelope.Data, &created, &q.Attempts); err != nil {
			return nil, fmt.Errorf("store: claim mail: %w", err)
		}
		q.CreatedAt = fromMicros(created)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim mail: %w", err)
	}
	return out, nil
}

// MarkMailSent implements mail.OutboxStore.
func (db *DB) MarkMailSent(ctx context.Context, id int64, now time.Time) error {
	_, err := db.exec(ctx, "UPDATE mail_outbox SET state = 'sent', data = ?, done_at = ? WHERE id = ?", []byte{}, micros(now), id)
	if err != nil {
		return fmt.Errorf("store: mark mail %d sent: %w", id, err)
	}
	return nil
}

// MarkMailRetry implements mail.OutboxStore.
func (db *DB) MarkMailRetry(ctx context.Context, id int64, next time.Time, lastErr string) error {
	_, err := db.exec(ctx, "UPDATE mail_outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'", micros(next), clip(lastErr), id)
	if err != nil {
		return fmt.Errorf("store: schedule mail %d: %w", id, err)
	}
	return nil
}

// MarkMailFailed implements mail.OutboxStore.
func (db *DB) MarkMailFailed(ctx context.Context, id int64, now time.Time, lastErr string) error {
	_, err := db.exec(ctx, "UPDATE mail_outbox SET state = 'failed', data = ?, done_at = ?, last_error = ? WHERE id = ?", []byte{}, micros(now), clip(lastErr), id)
	if err != nil {
		return fmt.Errorf("store: mark mail %d failed: %w", id, err)
	}
	return nil
}

func clip(s string) string {
	if len(s) > maxMailError {
		return s[:maxMailError]
	}
	return s
}
