package revoke

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The Redis layout (docs/REVOCATION.md explains it in full). Every key
// shares the hash tag {revocations}, so on Redis Cluster they live in one
// slot and the Lua scripts below may touch all of them atomically.
const (
	// DefaultRedisPrefix is prepended to every key when no prefix is set.
	DefaultRedisPrefix = "authmesh:"
	// DefaultLogMaxLen is the approximate number of events the log keeps.
	DefaultLogMaxLen = 100_000

	keyEntries = "{revocations}:entries" // hash: "kind:id" → "exp" or "exp:before"
	keyExpiry  = "{revocations}:expiry"  // sorted set: "kind:id" scored by exp
	keyLog     = "{revocations}:log"     // stream of events; ids are cursors
	keyLayout  = "{revocations}:layout"  // hash: the layout marker (Layout)
	keySeeding = "{revocations}:seeding" // string: epoch of a re-seed in progress

	// maxUnix bounds stored times: the Set keeps uint32 seconds, and Lua
	// formats numbers below 1e14 exactly.
	maxUnix = 1<<32 - 1
	// zeroCursor is the cursor of an empty log. Snapshots append
	// epochSep and the layout epoch (see sinceScript).
	zeroCursor = "0-0"
	epochSep   = "@"
)

// redisKeys are the keys of one prefix, in the order the scripts take
// them.
type redisKeys []string

func newRedisKeys(prefix string) redisKeys {
	return redisKeys{prefix + keyEntries, prefix + keyExpiry, prefix + keyLog, prefix + keyLayout, prefix + keySeeding}
}

func (k redisKeys) entries() string { return k[0] }
func (k redisKeys) log() string     { return k[2] }
func (k redisKeys) layout() string  { return k[3] }
func (k redisKeys) seeding() string { return k[4] }

// Layout is the marker the auth service writes beside the revocation state
// (in Redis, the hash <prefix>{revocations}:layout; in a feed snapshot, its
// "layout" member). A validator that finds no marker is pointed at a prefix
// or database no auth service writes, or at a Redis that lost its data; it
// is not Ready until the marker is there.
type Layout struct {
	// V is the protocol version of the layout (ProtocolVersion).
	V int `json:"v"`
	// Epoch names one continuous life of the state: it changes whenever the
	// auth service re-seeds Redis after data loss. A validator synced
	// against another epoch loads a fresh snapshot. Empty in the journal.
	Epoch string `json:"epoch,omitempty"`
	// Issuer and Audience are the auth service's ISSUER and AUDIENCE, so a
	// validator configured otherwise reports the mismatch at start-up.
	Issuer   string `json:"issuer,omitempty"`
	Audience string `json:"audience,omitempty"`
}

// check reports what keeps a validator expecting issuer and audience
// (empty: no expectation) from trusting state under this layout.
func (l Layout) check(issuer, audience string) error {
	switch {
	case l.V > ProtocolVersion:
		return fmt.Errorf("%w: layout of protocol version %d (this version speaks %d); upgrade this service", ErrUnsupported, l.V, ProtocolVersion)
	case issuer != "" && l.Issuer != "" && l.Issuer != issuer:
		return fmt.Errorf("%w: the auth service issues tokens as %q, this service expects issuer %q (set ISSUER alike on both)", ErrLayoutMismatch, l.Issuer, issuer)
	case audience != "" && l.Audience != audience:
		return fmt.Errorf("%w: the auth service issues tokens for audience %q, this service expects %q (set AUDIENCE alike on both)", ErrLayoutMismatch, l.Audience, audience)
	}
	return nil
}

// ErrLayoutMismatch is returned when the auth service's layout marker
// names another issuer or audience than the validator expects.
var ErrLayoutMismatch = errors.New("revoke: auth service configuration mismatch")

// parseLayout reads the marker hash; ok is false when it is absent.
func parseLayout(h map[string]string) (l Layout, ok bool) {
	if len(h) == 0 || h["epoch"] == "" {
		return Layout{}, false
	}
	v, err := strconv.Atoi(h["v"])
	if err != nil || v <= 0 {
		v = ProtocolVersion + 1 // unreadable: not a layout this version knows
	}
	return Layout{V: v, Epoch: h["epoch"], Issuer: h["issuer"], Audience: h["audience"]}, true
}

// newEpoch returns a fresh random epoch.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// layoutMessage is published when a layout is installed: validators catch
// up at once instead of at their next poll.
type layoutMessage struct {
	V      int    `json:"v"`
	Layout string `json:"layout"` // the new epoch
}

// field is the hash field and sorted-set member naming an entry.
func field(e Entry) string { return string(e.Kind) + ":" + e.ID }

// clampEntry bounds an entry's times to what every consumer can represent.
func clampEntry(e Entry) Entry {
	e.Expires = min(e.Expires, maxUnix)
	e.Before = min(e.Before, maxUnix)
	e.At = max(min(e.At, maxUnix), 0)
	return e
}

// revokeScript merges an entry into the entries hash (keeping the largest
// exp and before), indexes it by expiry, appends it to the log and publishes
// it, all in one atomic step: a crash cannot separate write from publish.
// It refuses (error NOLAYOUT) when the layout marker is missing: Redis lost
// its data, and the store must re-seed it before anything new is written.
//
// KEYS: entries, expiry, log, layout. ARGV: field, exp, before, maxlen,
// channel, kind, id, at, message without its closing brace, version.
var revokeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOLAYOUT revocation layout marker missing')
end
local exp = tonumber(ARGV[2])
local before = tonumber(ARGV[3])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local e, b = string.match(cur, '^(%d+):?(%d*)$')
  if e and tonumber(e) > exp then exp = tonumber(e) end
  if b and b ~= '' and tonumber(b) > before then before = tonumber(b) end
end
local v = string.format('%d', exp)
if before > 0 then v = v .. ':' .. string.format('%d', before) end
redis.call('HSET', KEYS[1], ARGV[1], v)
redis.call('ZADD', KEYS[2], exp, ARGV[1])
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
  'v', ARGV[10], 'k', ARGV[6], 'i', ARGV[7], 'e', ARGV[2], 'b', ARGV[3], 'a', ARGV[8])
redis.call('PUBLISH', ARGV[5], ARGV[9] .. ',"cursor":"' .. id .. '"}')
return id
`)

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

// seedScript merges ARGV's (field, exp, before) triples into the entries
// hash and the expiry index, as revokeScript does, without logging or
// publishing them: re-seeding restores state, validators load it as a
// snapshot. It refuses (error RESEED) when the seeding key no longer holds
// ARGV[1]: Redis lost data again, or another seed took over.
//
// KEYS: entries, expiry, seeding. ARGV: epoch, then triples.
var seedScript = redis.NewScript(`
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return redis.error_reply('RESEED seed interrupted')
end
for i = 2, #ARGV, 3 do
  local exp = tonumber(ARGV[i+1])
  local before = tonumber(ARGV[i+2])
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    local e, b = string.match(cur, '^(%d+):?(%d*)$')
    if e and tonumber(e) > exp then exp = tonumber(e) end
    if b and b ~= '' and tonumber(b) > before then before = tonumber(b) end
  end
  local v = string.format('%d', exp)
  if before > 0 then v = v .. ':' .. string.format('%d', before) end
  redis.call('HSET', KEYS[1], ARGV[i], v)
  redis.call('ZADD', KEYS[2], exp, ARGV[i])
end
return #ARGV
`)

// installScript installs the layout marker unless one exists, and returns
// the epoch in force. With ARGV[5] = "1" (a re-seed) it installs only while
// the seeding key still holds ARGV[1], so data lost during the seed is not
// covered by a new marker (error RESEED), then announces the new epoch.
//
// KEYS: layout, seeding. ARGV: epoch, version, issuer, audience, seeded,
// channel, announcement, created.
var installScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'epoch')
if cur then return cur end
if ARGV[5] == '1' and redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('RESEED seed interrupted')
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'epoch', ARGV[1], 'issuer', ARGV[3], 'audience', ARGV[4], 'created', ARGV[8])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return ARGV[1]
`)

// pruneScript forgets up to ARGV[2] entries whose expiry is at or before
// ARGV[1] and returns how many it removed.
//
// KEYS: entries, expiry.
var pruneScript = redis.NewScript(`
local f = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #f > 0 then
  redis.call('HDEL', KEYS[1], unpack(f))
  redis.call('ZREM', KEYS[2], unpack(f))
end
return #f
`)

// messagePrefix is the JSON message of an event without its cursor and
// closing brace; the revoke script appends the cursor it was given.
func messagePrefix(e Entry) (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	return string(b[:len(b)-1]), nil
}

// decodeMessage parses a pub/sub message: an Event, or (layout non-empty)
// the announcement of a new layout epoch. An event of a version or kind
// this version does not understand is returned with an error wrapping
// ErrUnsupported: the caller must not ignore it.
func decodeMessage(payload string) (ev Event, layout string, err error) {
	var m struct {
		Event
		Layout string `json:"layout"`
	}
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return Event{}, "", fmt.Errorf("%w: %v", ErrInvalidEntry, err)
	}
	if m.Kind == "" && m.Layout != "" {
		return Event{}, m.Layout, nil
	}
	return m.Event, "", m.Validate()
}

// decodeStored parses a field and value of the entries hash. The value is
// "exp", "exp:before", or, from protocol version 2 on, "exp:before:vN":
// the expiry always comes first, so any version can tell how long an entry
// it does not understand stays in force.
func decodeStored(f, v string) (Entry, error) {
	kind, id, ok := strings.Cut(f, ":")
	if !ok {
		return Entry{}, fmt.Errorf("%w: field %.80q", ErrInvalidEntry, f)
	}
	e := Entry{Kind: Kind(kind), ID: id}
	parts := strings.SplitN(v, ":", 4)
	var err error
	if e.Expires, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return Entry{}, fmt.Errorf("%w: value %.80q", ErrInvalidEntry, v)
	}
	if len(parts) > 1 && parts[1] != "" {
		if e.Before, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
			e.V = ProtocolVersion + 1 // a layout this version cannot read
		}
	}
	if len(parts) > 2 {
		n, err := strconv.Atoi(strings.TrimPrefix(parts[2], "v"))
		if err != nil || len(parts) > 3 {
			n = ProtocolVersion + 1
		}
		e.V = max(e.V, n)
	}
	return e, e.Validate()
}

// decodeStreamEvent turns one log entry back into an Event. Entries written
// before the version field existed read as version 1.
func decodeStreamEvent(m redis.XMessage) (Event, error) {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	num := func(k string) int64 { n, _ := strconv.ParseInt(str(k), 10, 64); return n }
	ev := Event{
		Entry:  Entry{V: int(num("v")), Kind: Kind(str("k")), ID: str("i"), Expires: num("e"), Before: num("b"), At: num("a")},
		Cursor: m.ID,
	}
	if v := str("v"); v != "" && ev.V <= 0 {
		ev.V = ProtocolVersion + 1 // unreadable version: not understood
	}
	return ev, ev.Validate()
}
