package revoke

import (
	"context"
	"errors"
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
