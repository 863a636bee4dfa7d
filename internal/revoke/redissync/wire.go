package redissync

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/redis/go-redis/v9"
)

// The Redis layout (docs/REVOCATION.md explains it in full), shared by the
// writer (package redisstore) and every reader. Every key shares the hash
// tag {revocations}, so on Redis Cluster they live in one slot and the Lua
// scripts may touch all of them atomically.
const (
	// DefaultPrefix is prepended to every key when no prefix is set.
	DefaultPrefix = "authmesh:"

	keyEntries = "{revocations}:entries" // hash: "kind:id" → "exp" or "exp:before"
	keyExpiry  = "{revocations}:expiry"  // sorted set: "kind:id" scored by exp
	keyLog     = "{revocations}:log"     // stream of events; ids are cursors
	keyLayout  = "{revocations}:layout"  // hash: the layout marker (revoke.Layout)
	keySeeding = "{revocations}:seeding" // string: epoch of a re-seed in progress

	// zeroCursor is the cursor of an empty log. Snapshots append
	// epochSep and the layout epoch (see sinceScript).
	zeroCursor = "0-0"
	epochSep   = "@"
)

// Keys are the keys of one prefix, in the order the scripts take them:
// entries, expiry, log, layout, seeding.
type Keys []string

// NewKeys returns the keys under prefix.
func NewKeys(prefix string) Keys {
	return Keys{prefix + keyEntries, prefix + keyExpiry, prefix + keyLog, prefix + keyLayout, prefix + keySeeding}
}

// Entries is the hash of live entries: "kind:id" → "exp" or "exp:before".
func (k Keys) Entries() string { return k[0] }

// Expiry is the sorted set indexing the entries by expiry.
func (k Keys) Expiry() string { return k[1] }

// Log is the stream of events; its ids are the cursors.
func (k Keys) Log() string { return k[2] }

// Layout is the hash holding the layout marker.
func (k Keys) Layout() string { return k[3] }

// Seeding holds the epoch of a re-seed in progress.
func (k Keys) Seeding() string { return k[4] }

// LayoutMessage is published when a layout is installed: validators catch
// up at once instead of at their next poll.
type LayoutMessage struct {
	// V is the protocol version (revoke.ProtocolVersion).
	V int `json:"v"`
	// Layout is the new epoch.
	Layout string `json:"layout"`
}

// Field is the hash field and sorted-set member naming an entry.
func Field(e revoke.Entry) string { return string(e.Kind) + ":" + e.ID }

// parseLayout reads the marker hash; ok is false when it is absent.
func parseLayout(h map[string]string) (l revoke.Layout, ok bool) {
	if len(h) == 0 || h["epoch"] == "" {
		return revoke.Layout{}, false
	}
	v, err := strconv.Atoi(h["v"])
	if err != nil || v <= 0 {
		v = revoke.ProtocolVersion + 1 // unreadable: not a layout this version knows
	}
	return revoke.Layout{V: v, Epoch: h["epoch"], Issuer: h["issuer"], Audience: h["audience"]}, true
}

// sinceScript returns {1, epoch, events} with up to ARGV[2] events after
// cursor ARGV[1], {0, epoch} when the log no longer proves it holds every
// event after the cursor, and {2} when the layout marker is missing (Redis
// lost its data, or no auth service writes this prefix). The log no longer
// proves it when the cursor entry was trimmed, or was never in this log
// (Redis lost data or failed over to a replica that missed it). A log still
// holding the cursor entry holds everything after it, since trimming only
// removes the oldest entries. The empty log's cursor "0-0" is valid while
// nothing was ever trimmed (entries-added equals length, Redis 7+). The
// epoch lets the reader see that the state was re-seeded since its
// snapshot, which the log alone cannot show.
//
// An empty log's cursor may name the epoch it was read in (ARGV[3]): it is
// valid in that epoch only, since a re-seeded state starts a new, empty
// log that proves nothing about the entries restored into it.
//
// KEYS: log, layout.
var sinceScript = redis.NewScript(`
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then return {2} end
local cur = ARGV[1]
if ARGV[3] ~= '' and ARGV[3] ~= epoch then return {0, epoch} end
if cur == '0-0' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    local f = {}
    for i = 1, #info, 2 do f[info[i]] = info[i+1] end
    if f['entries-added'] and f['entries-added'] > f['length'] then return {0, epoch} end
  end
elseif #redis.call('XRANGE', KEYS[1], cur, cur) == 0 then
  return {0, epoch}
end
return {1, epoch, redis.call('XRANGE', KEYS[1], '(' .. cur, '+', 'COUNT', ARGV[2])}
`)

// MessagePrefix is the JSON message of an event without its cursor and
// closing brace; the revoke script appends the cursor it was given.
func MessagePrefix(e revoke.Entry) (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	return string(b[:len(b)-1]), nil
}

// message is a decoded pub/sub message: one event, a batch of events, or
// the announcement of a layout epoch alone.
type message struct {
	events []revoke.Event
	errs   []error // per event: nil, or why it cannot be applied
	layout string  // an announcement (events empty), or a batch's epoch
	prev   string  // a batch: the newest log id before it ("" unknown)
}

// decodeMessage parses a pub/sub message: an Event; a batch (written by
// RevokeMany) {"v":…,"layout":"<epoch>","prev":"<log id>","events":[<Event>…]}; or, with
// only layout set, the announcement of a new layout epoch. An event of a
// version or kind this version does not understand comes with an error
// wrapping revoke.ErrUnsupported: the caller must not ignore it.
func decodeMessage(payload string) (message, error) {
	var m struct {
		revoke.Event
		Layout string         `json:"layout"`
		Events []revoke.Event `json:"events"`
		Prev   string         `json:"prev"`
	}
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return message{}, fmt.Errorf("%w: %v", revoke.ErrInvalidEntry, err)
	}
	switch {
	case len(m.Events) > 0:
		if m.V > revoke.ProtocolVersion {
			return message{}, fmt.Errorf("%w: %w: batch of protocol version %d", revoke.ErrInvalidEntry, revoke.ErrUnsupported, m.V)
		}
		out := message{events: m.Events, errs: make([]error, len(m.Events)), layout: m.Layout, prev: m.Prev}
		for i, ev := range m.Events {
			out.errs[i] = ev.Validate()
		}
		return out, nil
	case m.Kind == "" && m.Layout != "":
		return message{layout: m.Layout}, nil
	}
	return message{events: []revoke.Event{m.Event}, errs: []error{m.Validate()}}, nil
}

// decodeStored parses a field and value of the entries hash. The value is
// "exp", "exp:before", or, from protocol version 2 on, "exp:before:vN":
// the expiry always comes first, so any version can tell how long an entry
// it does not understand stays in force.
func decodeStored(f, v string) (revoke.Entry, error) {
	kind, id, ok := strings.Cut(f, ":")
	if !ok {
		return revoke.Entry{}, fmt.Errorf("%w: field %.80q", revoke.ErrInvalidEntry, f)
	}
	e := revoke.Entry{Kind: revoke.Kind(kind), ID: id}
	parts := strings.SplitN(v, ":", 4)
	var err error
	if e.Expires, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return revoke.Entry{}, fmt.Errorf("%w: value %.80q", revoke.ErrInvalidEntry, v)
	}
	if len(parts) > 1 && parts[1] != "" {
		if e.Before, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
			e.V = revoke.ProtocolVersion + 1 // a layout this version cannot read
		}
	}
	if len(parts) > 2 {
		n, err := strconv.Atoi(strings.TrimPrefix(parts[2], "v"))
		if err != nil || len(parts) > 3 {
			n = revoke.ProtocolVersion + 1
		}
		e.V = max(e.V, n)
	}
	return e, e.Validate()
}

// decodeStreamEvent turns one log entry back into an Event. Entries written
// before the version field existed read as version 1.
func decodeStreamEvent(m redis.XMessage) (revoke.Event, error) {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	num := func(k string) int64 { n, _ := strconv.ParseInt(str(k), 10, 64); return n }
	ev := revoke.Event{
		Entry:  revoke.Entry{V: int(num("v")), Kind: revoke.Kind(str("k")), ID: str("i"), Expires: num("e"), Before: num("b"), At: num("a")},
		Cursor: m.ID,
	}
	if v := str("v"); v != "" && ev.V <= 0 {
		ev.V = revoke.ProtocolVersion + 1 // unreadable version: not understood
	}
	return ev, ev.Validate()
}

// StreamID is a parsed Redis stream id (a log cursor), ordered as Redis
// orders them.
type StreamID struct{ ms, seq uint64 }

// ParseStreamID parses a stream id; ok is false when c is not one.
func ParseStreamID(c string) (id StreamID, ok bool) {
	a, b, ok := strings.Cut(c, "-")
	if !ok {
		return StreamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return StreamID{ms, seq}, err1 == nil && err2 == nil
}

// Less reports whether a comes before b in the log.
func (a StreamID) Less(b StreamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

// String formats the id as Redis does.
func (a StreamID) String() string { return fmt.Sprintf("%d-%d", a.ms, a.seq) }
