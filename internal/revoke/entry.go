// Package revoke is the single home of the revocation wire format and of
// everything that moves revocations around: the Redis layout and pub/sub
// messages, the revocation feed (Server-Sent Events), the in-memory set a
// validator consults on every request, and the synchronisers that keep that
// set complete across disconnects and restarts.
//
// Publishers (the auth service) and subscribers (every validator) both use
// this package, so the two sides cannot drift apart.
package revoke

import (
	"errors"
	"fmt"
	"time"
)

// Channel is the Redis pub/sub channel every revocation is published on.
const Channel = "token_invalidation"

// Kind says what a revocation names.
type Kind string

// The three granularities of revocation.
const (
	// KindToken revokes one access token, named by its jti.
	KindToken Kind = "jti"
	// KindSession revokes every token of one device session, named by sid.
	KindSession Kind = "sid"
	// KindUser revokes every token of one user (sub) issued before Entry.Before.
	KindUser Kind = "sub"
)

// Entry is one revocation. It never contains a raw token: only identifiers.
type Entry struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	// Before applies to KindUser only: tokens whose iat (unix seconds) is
	// strictly less than Before are revoked. Zero for the other kinds.
	Before int64 `json:"before,omitempty"`
	// Expires is the unix second after which the entry cannot affect any
	// token still in circulation and may be forgotten.
	Expires int64 `json:"exp"`
	// At is the unix second the revocation was made (informational).
	At int64 `json:"at,omitempty"`
}

// Event is an Entry with its position in the revocation log. Cursor is
// opaque to consumers: a Redis stream id in Redis mode, a sequence number
// in the SQL journal.
type Event struct {
	Entry
	Cursor string `json:"cursor"`
}

// ErrInvalidEntry is returned for an entry that cannot be stored or applied.
var ErrInvalidEntry = errors.New("revoke: invalid entry")

// maxIDLen bounds identifiers so hostile input cannot bloat revocation state.
const maxIDLen = 256

// Validate reports whether e is well formed.
func (e Entry) Validate() error {
	switch e.Kind {
	case KindToken, KindSession:
		if e.Before != 0 {
			return fmt.Errorf("%w: before is only valid for kind %q", ErrInvalidEntry, KindUser)
		}
	case KindUser:
		if e.Before <= 0 {
			return fmt.Errorf("%w: kind %q needs before", ErrInvalidEntry, KindUser)
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidEntry, e.Kind)
	}
	if e.ID == "" || len(e.ID) > maxIDLen {
		return fmt.Errorf("%w: id must be 1..%d bytes", ErrInvalidEntry, maxIDLen)
	}
	if e.Expires <= 0 {
		return fmt.Errorf("%w: exp is required", ErrInvalidEntry)
	}
	return nil
}

// Live reports whether e can still affect a token at time now.
func (e Entry) Live(now time.Time) bool { return e.Expires > now.Unix() }
