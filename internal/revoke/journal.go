package revoke

import (
	"context"
	"time"
)

// Journal is the durable, append-only revocation log kept in the database
// (SQLite or PostgreSQL; internal/store implements it). Each appended entry
// gets a sequence number (seq) greater than every earlier one.
//
// Implementations must make seqs visible in ascending order: once an entry
// with seq N can be read, no entry with a smaller seq may appear later. (On
// PostgreSQL, where sequence values are handed out before commit, that means
// serialising appends, for example with pg_advisory_xact_lock; on SQLite the
// single writer gives it for free.) Otherwise a reader that has advanced past
// N could miss the late entry.
//
// Implementations are safe for concurrent use.
type Journal interface {
	// AppendRevocation stores e and returns its seq.
	AppendRevocation(ctx context.Context, e Entry) (int64, error)
	// AppendRevocations stores every entry in one transaction (all or
	// none) and returns their seqs, ascending, in the entries' order.
	AppendRevocations(ctx context.Context, entries []Entry) ([]int64, error)
	// RevocationsSince returns up to limit entries with seq greater than
	// seq, in ascending seq order, with Cursor set to the decimal seq.
	RevocationsSince(ctx context.Context, seq int64, limit int) ([]Event, error)
	// LiveRevocations returns the entries still live at now, and the
	// largest seq in the journal, both read from one consistent view.
	LiveRevocations(ctx context.Context, now time.Time) ([]Event, int64, error)
	// PruneRevocations deletes entries no longer live at now and returns
	// how many were deleted.
	PruneRevocations(ctx context.Context, now time.Time) (int64, error)
}
