// Package revoke is the domain of revocation: entries, events, the
// in-memory Set a validator consults on every request, and the interfaces
// (Source, Revoker, Journal) its transports implement.
//
// Each transport lives in a subpackage named for its technology and role,
// and imports this one, never the reverse: redisstore (the auth service's
// Redis writer), redissync (the Redis reader and validators' follower, and
// the Redis wire format), sqljournal (the database-backed Source of the
// embedded mode), feed (the SSE feed server), feedsync (the feed client)
// and feedwire (the feed's wire format, shared by both). A validator links
// only the readers.
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

// The granularities of revocation. A newer auth service may add kinds; a
// validator that meets a kind it does not know refuses every token until
// that entry expires (see Entry.Understood and docs/REVOCATION.md).
const (
	// KindToken revokes one access token, named by its jti.
	KindToken Kind = "jti"
	// KindSession revokes every token of one device session, named by sid.
	KindSession Kind = "sid"
	// KindUser revokes every token of one user (sub) issued before Entry.Before.
	KindUser Kind = "sub"
	// KindKey revokes every token signed by one signing key, named by its
	// kid (a withdrawn key: leaked or retired early).
	KindKey Kind = "kid"
	// KindAll revokes every token issued before Entry.Before, whoever it
	// names (an incident: a leak of keys or of a token store). Its ID is
	// always AllID, so the entries of several such revocations merge into
	// one holding the latest cut-off.
	KindAll Kind = "all"
)

// AllID is the ID of every KindAll entry.
const AllID = "*"

// ProtocolVersion is the version of the revocation protocol this package
// speaks: the layout marker in Redis, every Redis log entry and pub/sub
// message, every feed event and every journal row carry it. The rule
// (docs/REVOCATION.md, "Compatibility"): a change an older reader could
// ignore safely keeps the version; anything an older reader would misread
// raises it. A reader treats an entry of a higher version, or of a kind it
// does not know, as not understood and refuses every token while that
// entry is live; it never ignores it.
const ProtocolVersion = 1

// Entry is one revocation. It never contains a raw token: only identifiers.
type Entry struct {
	// V is the protocol version the entry was written in. Writers set
	// ProtocolVersion; zero (absent) reads as 1, the version before the
	// field existed.
	V    int    `json:"v,omitempty"`
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	// Before applies to KindUser and KindAll only: tokens whose iat (unix
	// seconds) is strictly less than Before are revoked. Zero for the
	// other kinds.
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

// ErrUnsupported is returned (wrapped with ErrInvalidEntry) for an entry or
// layout this version cannot interpret: a newer protocol version or an
// unknown kind. A reader must not
// ignore such an entry: it cannot tell which tokens it revokes.
var ErrUnsupported = errors.New("revoke: unsupported revocation protocol")

// version is e's protocol version, absent meaning 1.
func (e Entry) version() int { return max(e.V, 1) }

// Validate reports whether e is well formed and of a version and kind this
// package understands (ErrUnsupported otherwise).
func (e Entry) Validate() error {
	if e.version() > ProtocolVersion {
		return fmt.Errorf("%w: %w: entry of protocol version %d (this version speaks %d)", ErrInvalidEntry, ErrUnsupported, e.V, ProtocolVersion)
	}
	switch e.Kind {
	case KindToken, KindSession, KindKey:
		if e.Before != 0 {
			return fmt.Errorf("%w: before is only valid for kinds %q and %q", ErrInvalidEntry, KindUser, KindAll)
		}
	case KindUser, KindAll:
		if e.Before <= 0 {
			return fmt.Errorf("%w: kind %q needs before", ErrInvalidEntry, e.Kind)
		}
		if e.Kind == KindAll && e.ID != AllID {
			return fmt.Errorf("%w: kind %q takes id %q", ErrInvalidEntry, KindAll, AllID)
		}
	default:
		return fmt.Errorf("%w: %w: unknown kind %.40q", ErrInvalidEntry, ErrUnsupported, e.Kind)
	}
	if e.ID == "" || len(e.ID) > maxIDLen {
		return fmt.Errorf("%w: id must be 1..%d bytes", ErrInvalidEntry, maxIDLen)
	}
	if e.Expires <= 0 {
		return fmt.Errorf("%w: exp is required", ErrInvalidEntry)
	}
	return nil
}

// Stamp returns e with the protocol version a writer records (V, when
// unset, becomes ProtocolVersion).
func (e Entry) Stamp() Entry {
	if e.V == 0 {
		e.V = ProtocolVersion
	}
	return e
}

// Live reports whether e can still affect a token at time now.
func (e Entry) Live(now time.Time) bool { return e.Expires > now.Unix() }
