package store

import (
	"context"
	"fmt"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// The store keeps the audit trail.
var _ auth.Audit = (*DB)(nil)

// RecordEvent stores one security event.
func (db *DB) RecordEvent(ctx context.Context, e auth.AuditEvent) error {
	_, err := db.exec(ctx, "INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
		e.At.UnixMicro(), e.Event, e.UserID, e.SessionID, e.IP, e.UserAgent, e.Detail)
	if err != nil {
		return fmt.Errorf("store: record audit event: %w", err)
	}
	return nil
}

// Events returns the newest events first, at most limit, of userID only
// when it is not "".
func (db *DB) Events(ctx context.Context, userID string, limit int) ([]auth.AuditEvent, error) {
	q := "SELECT at, event, user_id, session_id, ip, user_agent, detail FROM audit_events"
	args := []any{}
	if userID != "" {
		q += " WHERE user_id = ?"
		args = append(args, userID)
	}
	q += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit events: %w", err)
	}
	defer rows.Close()
	var out []auth.AuditEvent
	for rows.Next() {
		var e auth.AuditEvent
		var at int64
		if err := rows.Scan(&at, &e.Event, &e.UserID, &e.SessionID, &e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit events: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit events: %w", err)
	}
	return out, nil
}

// PruneEvents deletes the events older than before.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, "DELETE FROM audit_events WHERE at < ?", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: prune audit events: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
