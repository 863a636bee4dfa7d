package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// Bounds on one RevocationsSince page.
const (
	DefaultRevocationPage = 1000
	MaxRevocationPage     = 10000
)

// AppendRevocation validates e and appends it to the revocation journal,
// returning its sequence number. Sequence numbers only grow, are never
// reused, and become visible in order: a reader that has seen seq n will
// never later find a new entry below n (on PostgreSQL appends are
// serialised for this).
func (db *DB) AppendRevocation(ctx context.Context, e revoke.Entry) (int64, error) {
	if err := e.Validate(); err != nil {
		return 0, fmt.Errorf("store: append revocation: %w", err)
	}
	var seq int64
	err := db.inTx(ctx, func(committing *bool) (err error) {
		seq, err = db.appendRevocation(ctx, e, committing)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: append revocation: %w", err)
	}
	return seq, nil
}

// appendRevocation is one attempt of AppendRevocation; it sets *committing
// before it sends COMMIT.
func (db *DB) appendRevocation(ctx context.Context, e revoke.Entry, committing *bool) (int64, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if db.dialect == DialectPostgres {
		// Without this, two appends could commit out of seq order and a
		// concurrent reader advance its cursor past the slower one.
		// EXCLUSIVE still lets plain reads through.
		if _, err := tx.ExecContext(ctx, "LOCK TABLE revocations IN EXCLUSIVE MODE"); err != nil {
			return 0, err
		}
	}
	var seq int64
	err = tx.QueryRowContext(ctx, db.q("INSERT INTO revocations (kind, subject, issued_before, expires, made_at, version) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq"),
		string(e.Kind), e.ID, e.Before, e.Expires, e.At, max(e.V, 1)).Scan(&seq)
	if err != nil {
		return 0, err
	}
	*committing = true
	return seq, tx.Commit()
}

// revocationRowsPerInsert bounds the rows of one INSERT statement of
// AppendRevocations: 6 parameters each, well under SQLite's and
// PostgreSQL's limits on bound parameters.
const revocationRowsPerInsert = 500

// AppendRevocations validates every entry, then appends them all to the
// revocation journal in one transaction, with multi-row INSERTs, and
// returns their sequence numbers in the entries' order. Either all are
// appended or none. Sequence numbers become visible in order, as with
// AppendRevocation; a batch's are consecutive in order of the entries.
func (db *DB) AppendRevocations(ctx context.Context, entries []revoke.Entry) ([]int64, error) {
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("store: append revocations: entry %d: %w", i, err)
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	var seqs []int64
	err := db.inTx(ctx, func(committing *bool) (err error) {
		seqs, err = db.appendRevocations(ctx, entries, committing)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: append revocations: %w", err)
	}
	return seqs, nil
}

// appendRevocations is one attempt of AppendRevocations.
func (db *DB) appendRevocations(ctx context.Context, entries []revoke.Entry, committing *bool) ([]int64, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if db.dialect == DialectPostgres {
		// As in appendRevocation: appends commit in seq order.
		if _, err := tx.ExecContext(ctx, "LOCK TABLE revocations IN EXCLUSIVE MODE"); err != nil {
			return nil, err
		}
	}
	seqs := make([]int64, 0, len(entries))
	var q strings.Builder
	args := make([]any, 0, 6*min(len(entries), revocationRowsPerInsert))
	for rest := entries; len(rest) > 0; {
		chunk := rest[:min(len(rest), revocationRowsPerInsert)]
		rest = rest[len(chunk):]
		q.Reset()
		q.WriteString("INSERT INTO revocations (kind, subject, issued_before, expires, made_at, version) VALUES ")
		args = args[:0]
		for i, e := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, string(e.Kind), e.ID, e.Before, e.Expires, e.At, max(e.V, 1))
		}
		q.WriteString(" RETURNING seq")
		rows, err := tx.QueryContext(ctx, db.q(q.String()), args...)
		if err != nil {
			return nil, err
		}
		first := len(seqs)
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return nil, err
			}
			seqs = append(seqs, seq)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(seqs)-first != len(chunk) {
			return nil, fmt.Errorf("inserted %d revocations, got %d seqs back", len(chunk), len(seqs)-first)
		}
		// The rows are numbered in the order of VALUES; sorting makes the
		// pairing independent of the order RETURNING lists them in.
		slices.Sort(seqs[first:])
	}
	*committing = true
	return seqs, tx.Commit()
}

// inTx runs a transaction attempt again when it failed without
// committing: on a lost connection before COMMIT was sent, or when the
// error proves the COMMIT did not happen (see retry).
func (db *DB) inTx(ctx context.Context, attempt func(committing *bool) error) error {
	var committing bool
	return db.retry(ctx, func(err error) bool {
		if committing {
			return notCommitted(err)
		}
		return connectionLost(err)
	}, func() error {
		committing = false
		return attempt(&committing)
	})
}

// RevocationsSince returns the journal entries with seq greater than seq,
// ascending, at most limit of them (limit <= 0 means
// DefaultRevocationPage; it is capped at MaxRevocationPage). Expired
// entries not yet pruned are included.
func (db *DB) RevocationsSince(ctx context.Context, seq int64, limit int) ([]revoke.Event, error) {
	if limit <= 0 {
		limit = DefaultRevocationPage
	}
	limit = min(limit, MaxRevocationPage)
	rows, err := db.query(ctx, "SELECT seq, kind, subject, issued_before, expires, made_at, version FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: revocations since %d: %w", seq, err)
	}
	return scanEvents(rows)
}

// LiveRevocations returns the entries still live at now (Expires >
// now.Unix()) in seq order, and the highest seq in the journal: a snapshot
// and the cursor to follow it with RevocationsSince. Both are read from
// one consistent snapshot, so nothing appended meanwhile slips between.
func (db *DB) LiveRevocations(ctx context.Context, now time.Time) ([]revoke.Event, int64, error) {
	var events []revoke.Event
	var last int64
	err := db.retry(ctx, connectionLost, func() (err error) {
		events, last, err = db.liveRevocations(ctx, now)
		return err
	})
	return events, last, err
}

// liveRevocations is one attempt of LiveRevocations.
func (db *DB) liveRevocations(ctx context.Context, now time.Time) ([]revoke.Event, int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{Isolation: db.snapshotIsolation(), ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("store: live revocations: %w", err)
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM revocations").Scan(&last); err != nil {
		return nil, 0, fmt.Errorf("store: live revocations: %w", err)
	}
	rows, err := tx.QueryContext(ctx, db.q("SELECT seq, kind, subject, issued_before, expires, made_at, version FROM revocations WHERE expires > ? ORDER BY seq"), now.Unix())
	if err != nil {
		return nil, 0, fmt.Errorf("store: live revocations: %w", err)
	}
	events, err := scanEvents(rows)
	if err != nil {
		return nil, 0, err
	}
	return events, last, tx.Commit()
}

// snapshotIsolation is the isolation level at which two statements see
// the same data: PostgreSQL's READ COMMITTED takes a snapshot per
// statement, so it needs REPEATABLE READ; an SQLite read transaction is
// always one snapshot (and the driver takes only the default level).
func (db *DB) snapshotIsolation() sql.IsolationLevel {
	if db.dialect == DialectPostgres {
		return sql.LevelRepeatableRead
	}
	return sql.LevelDefault
}

// PruneRevocations deletes the entries that expired at or before now and
// returns how many it deleted. Sequence numbers are not reused afterwards.
func (db *DB) PruneRevocations(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, "DELETE FROM revocations WHERE expires <= ?", now.Unix())
	if err != nil {
		return 0, fmt.Errorf("store: prune revocations: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune revocations: %w", err)
	}
	return n, nil
}

func scanEvents(rows *sql.Rows) ([]revoke.Event, error) {
	defer rows.Close()
	var out []revoke.Event
	for rows.Next() {
		var (
			ev   revoke.Event
			seq  int64
			kind string
		)
		if err := rows.Scan(&seq, &kind, &ev.ID, &ev.Before, &ev.Expires, &ev.At, &ev.V); err != nil {
			return nil, fmt.Errorf("store: read revocations: %w", err)
		}
		ev.Kind = revoke.Kind(kind)
		ev.Cursor = strconv.FormatInt(seq, 10)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read revocations: %w", err)
	}
	return out, nil
}
