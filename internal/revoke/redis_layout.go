package revoke

import (
	"encoding/json"
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

	// maxUnix bounds stored times: the Set keeps uint32 seconds, and Lua
	// formats numbers below 1e14 exactly.
	maxUnix = 1<<32 - 1
	// zeroCursor is the cursor of an empty log.
	zeroCursor = "0-0"
)

// redisKeys are the three keys of one prefix, in the order the scripts take
// them.
type redisKeys []string

func newRedisKeys(prefix string) redisKeys {
	return redisKeys{prefix + keyEntries, prefix + keyExpiry, prefix + keyLog}
}

func (k redisKeys) entries() string { return k[0] }
func (k redisKeys) log() string     { return k[2] }

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
//
// KEYS: entries, expiry, log. ARGV: field, exp, before, maxlen, channel,
// kind, id, at, message without its closing brace.
var revokeScript = redis.NewScript(`
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
  'k', ARGV[6], 'i', ARGV[7], 'e', ARGV[2], 'b', ARGV[3], 'a', ARGV[8])
redis.call('PUBLISH', ARGV[5], ARGV[9] .. ',"cursor":"' .. id .. '"}')
return id
`)

// sinceScript returns {1, events} with up to ARGV[2] events after cursor
// ARGV[1], or {0} when the log no longer proves it holds every event after
// the cursor: the cursor entry was trimmed, or was never in this log (Redis
// lost data or failed over to a replica that missed it). A log still
// holding the cursor entry holds everything after it, since trimming only
// removes the oldest entries. The empty log's cursor "0-0" is valid while
// nothing was ever trimmed (entries-added equals length, Redis 7+).
//
// KEYS: log.
var sinceScript = redis.NewScript(`
local cur = ARGV[1]
if cur == '0-0' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    local f = {}
    for i = 1, #info, 2 do f[info[i]] = info[i+1] end
    if f['entries-added'] and f['entries-added'] > f['length'] then return {0} end
  end
elseif #redis.call('XRANGE', KEYS[1], cur, cur) == 0 then
  return {0}
end
return {1, redis.call('XRANGE', KEYS[1], '(' .. cur, '+', 'COUNT', ARGV[2])}
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

// decodeMessage parses a pub/sub message.
func decodeMessage(payload string) (Event, error) {
	var ev Event
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEntry, err)
	}
	if err := ev.Validate(); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// decodeStored parses a field and value of the entries hash.
func decodeStored(f, v string) (Entry, error) {
	kind, id, ok := strings.Cut(f, ":")
	if !ok {
		return Entry{}, fmt.Errorf("%w: field %q", ErrInvalidEntry, f)
	}
	e := Entry{Kind: Kind(kind), ID: id}
	exp, before, _ := strings.Cut(v, ":")
	var err error
	if e.Expires, err = strconv.ParseInt(exp, 10, 64); err != nil {
		return Entry{}, fmt.Errorf("%w: value %q", ErrInvalidEntry, v)
	}
	if before != "" {
		if e.Before, err = strconv.ParseInt(before, 10, 64); err != nil {
			return Entry{}, fmt.Errorf("%w: value %q", ErrInvalidEntry, v)
		}
	}
	return e, e.Validate()
}

// decodeStreamEvent turns one log entry back into an Event.
func decodeStreamEvent(m redis.XMessage) (Event, error) {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	num := func(k string) int64 { n, _ := strconv.ParseInt(str(k), 10, 64); return n }
	ev := Event{
		Entry:  Entry{Kind: Kind(str("k")), ID: str("i"), Expires: num("e"), Before: num("b"), At: num("a")},
		Cursor: m.ID,
	}
	return ev, ev.Validate()
}
