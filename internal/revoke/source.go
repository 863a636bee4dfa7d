package revoke

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// ErrCursorExpired is returned by Since when the log no longer reaches back
// to the cursor; the reader must load a fresh Snapshot.
var ErrCursorExpired = errors.New("revoke: cursor expired, load a snapshot")

// Snapshot is the complete live revocation state as of Cursor: applying the
// entries, then every event after Cursor, yields the current state.
type Snapshot struct {
	Cursor string `json:"cursor"`
	// Layout describes the store the snapshot was read from (absent from
	// auth services that predate it).
	Layout  *Layout `json:"layout,omitempty"`
	Entries []Entry `json:"entries"`
}

// Revoker records revocations durably and announces them to subscribers.
// Revoking an already revoked subject succeeds (idempotent).
type Revoker interface {
	Revoke(ctx context.Context, e Entry) (Event, error)
}

// BulkRevoker records many revocations at once (an incident: every session
// of many users): the entries are written to the journal in multi-row
// transactions and announced in batches of up to MaxBatch entries, one
// message per batch rather than one per entry, and validators apply each
// batch at once. The returned events are in the entries' order. Every
// entry is validated before anything is written; a failure may leave a
// prefix of the batches recorded, and retrying the whole call is safe
// (revocations merge).
type BulkRevoker interface {
	Revoker
	RevokeMany(ctx context.Context, entries []Entry) ([]Event, error)
}

// MaxBatch is how many entries one batch of a BulkRevoker carries: one
// journal transaction, one Redis script and message, one feed event.
const MaxBatch = 1000

// ValidateAll validates every entry and names the first invalid one.
func ValidateAll(entries []Entry) error {
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return nil
}

// Batches yields entries in batches of at most MaxBatch, each a fresh
// slice of stamped copies (Entry.Stamp), an entry without a time taking
// the time at: the shape in which the stores record a bulk revocation.
func Batches(entries []Entry, at int64) iter.Seq[[]Entry] {
	return func(yield func([]Entry) bool) {
		for rest := entries; len(rest) > 0; {
			batch := make([]Entry, min(len(rest), MaxBatch))
			for i, e := range rest[:len(batch)] {
				if e.At == 0 {
					e.At = at
				}
				batch[i] = e.Stamp()
			}
			rest = rest[len(batch):]
			if !yield(batch) {
				return
			}
		}
	}
}

// Source is a readable revocation log. The revocation feed serves any
// Source; implementations are safe for concurrent use.
type Source interface {
	// Snapshot returns the live entries and the cursor they are current at.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Since returns up to limit events after cursor, oldest first, or
	// ErrCursorExpired.
	Since(ctx context.Context, cursor string, limit int) ([]Event, error)
	// Subscribe returns a channel that receives a value (coalesced) whenever
	// new events may be available, and a function that ends the
	// subscription.
	Subscribe() (<-chan struct{}, func())
}

// Status describes how current a synchroniser's copy of the state is.
type Status struct {
	Ready         bool      // the first snapshot and the events after it are applied (LastSync is set)
	Connected     bool      // the transport is up right now
	LastSync      time.Time // the last moment the copy was known complete
	Cursor        string    // position of the last applied event
	EventsApplied uint64    // events applied since start
	Resyncs       uint64    // snapshots loaded after the first
	// Problem, when set, says why the state cannot be trusted or kept
	// current: no layout marker, a newer protocol, an issuer mismatch.
	Problem string
}
