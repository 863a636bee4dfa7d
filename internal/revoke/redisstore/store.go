// Package redisstore is the auth service's Redis writer of revocations:
// it records, publishes and prunes them, and re-seeds Redis from the
// journal after data loss.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/redis/go-redis/v9"
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// Prefix is prepended to every key (default redissync.DefaultPrefix). Stores
	// and syncs must agree on it.
	Prefix string
	// Channel is the pub/sub channel events are published on (default
	// revoke.Channel). Only tests sharing one server need another.
	Channel string
	// LogMaxLen is the approximate number of events the log retains
	// (default DefaultLogMaxLen). A reader further behind than that loads a
	// snapshot instead.
	LogMaxLen int64
	// MinReplicas, if positive, makes Revoke wait (WAIT) until that many
	// replicas hold the revocation, and fail with ErrNotReplicated
	// otherwise. Set it with Sentinel or replicated Cluster deployments: an
	// acknowledged revocation then survives a failover.
	MinReplicas int
	// ReplicaTimeout bounds that wait (default 1s).
	ReplicaTimeout time.Duration
	// PruneInterval is how often Run forgets expired entries (default 1m).
	PruneInterval time.Duration
	// Journal, when set, is the record of every revocation (the database):
	// Revoke appends to it before Redis takes the entry, and when Redis has
	// lost its data (the layout marker is gone, or the log lost writes this
	// store made) the store re-seeds Redis from it. Without a Journal a
	// store that finds the marker gone installs a new one over whatever
	// Redis holds: revocations made before the loss are lost. Only tests
	// and benchmarks should do without.
	Journal revoke.Journal
	// Issuer and Audience are recorded in the layout marker, so validators
	// configured otherwise report the mismatch at start-up.
	Issuer, Audience string
	// LayoutCheckInterval is how often Run checks that Redis still holds
	// the layout marker and every write, and re-seeds it otherwise
	// (default 1s).
	LayoutCheckInterval time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

// Store keeps revocations in Redis and publishes them on pub/sub. It is
// the auth-service side of Redis mode: a revoke.Revoker, and (through the
// embedded redissync.Reader) a revoke.Source the revocation feed can serve.
// Standalone, Sentinel and Cluster clients all work. A Store is safe for
// concurrent use.
type Store struct {
	*redissync.Reader // Snapshot, SnapshotFunc, Since, Subscribe, Layout

	client  redis.UniversalClient
	keys    redissync.Keys
	channel string
	maxLen  int64
	minRep  int
	repWait time.Duration
	every   time.Duration
	check   time.Duration
	now     func() time.Time
	log     *slog.Logger
	journal revoke.Journal
	layout  revoke.Layout // Epoch unset: what this store writes into the marker

	layoutMu sync.Mutex // one EnsureLayout at a time
	epoch    string     // guarded by layoutMu: the epoch last seen in force
	lastMu   sync.Mutex
	lastID   redissync.StreamID // the newest log id this store wrote
}

var (
	_ revoke.BulkRevoker = (*Store)(nil)
	_ revoke.Source      = (*Store)(nil)
)

// New returns a store using client, which it does not close.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: New: nil client")
	}
	if cfg.LogMaxLen < 0 || cfg.PruneInterval < 0 || cfg.MinReplicas < 0 || cfg.ReplicaTimeout < 0 || cfg.LayoutCheckInterval < 0 {
		return nil, errors.New("redisstore: New: LogMaxLen, MinReplicas and intervals must not be negative")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = redissync.DefaultPrefix
	}
	if cfg.Channel == "" {
		cfg.Channel = revoke.Channel
	}
	if cfg.LogMaxLen == 0 {
		cfg.LogMaxLen = DefaultLogMaxLen
	}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = time.Minute
	}
	if cfg.ReplicaTimeout == 0 {
		cfg.ReplicaTimeout = time.Second
	}
	if cfg.LayoutCheckInterval == 0 {
		cfg.LayoutCheckInterval = DefaultLayoutCheckInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	reader, err := redissync.NewReader(client, redissync.ReaderConfig{
		Prefix: cfg.Prefix, Channel: cfg.Channel, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Store{
		Reader: reader,
		client: client, keys: redissync.NewKeys(cfg.Prefix), channel: cfg.Channel,
		maxLen: cfg.LogMaxLen, minRep: cfg.MinReplicas, repWait: cfg.ReplicaTimeout, every: cfg.PruneInterval, now: cfg.Clock, log: cfg.Logger,
		check: cfg.LayoutCheckInterval, journal: cfg.Journal,
		layout: revoke.Layout{V: revoke.ProtocolVersion, Issuer: cfg.Issuer, Audience: cfg.Audience},
	}
	return s, nil
}

// Revoke records e in the Journal (when set), then in Redis, and
// publishes it on the channel, the Redis part in one atomic script. It
// succeeds only once both took it; retrying a failed Revoke is safe, and
// revoking an already revoked subject succeeds and keeps the later expiry.
// When Redis has lost its data, Revoke re-seeds it first.
func (s *Store) Revoke(ctx context.Context, e revoke.Entry) (revoke.Event, error) {
	if err := e.Validate(); err != nil {
		return revoke.Event{}, err
	}
	if e.At == 0 {
		e.At = s.now().Unix()
	}
	e = clampEntry(e.Stamp())
	if s.journal != nil {
		if _, err := s.journal.AppendRevocation(ctx, e); err != nil {
			return revoke.Event{}, fmt.Errorf("revoke: record revocation: %w", err)
		}
	}
	msg, err := redissync.MessagePrefix(e)
	if err != nil {
		return revoke.Event{}, fmt.Errorf("revoke: encode event: %w", err)
	}
	args := []any{redissync.Field(e), e.Expires, e.Before, s.maxLen, s.channel, string(e.Kind), e.ID, e.At, msg, e.V}
	id, err := s.runRevoke(ctx, args)
	if isScriptError(err, "NOLAYOUT") {
		if err = s.EnsureLayout(ctx); err == nil {
			id, err = s.runRevoke(ctx, args)
		}
	}
	if err != nil {
		return revoke.Event{}, fmt.Errorf("revoke: store revocation: %w", err)
	}
	if sid, ok := redissync.ParseStreamID(id); ok {
		s.lastMu.Lock()
		if s.lastID.Less(sid) {
			s.lastID = sid
		}
		s.lastMu.Unlock()
	}
	return revoke.Event{Entry: e, Cursor: id}, nil
}

func (s *Store) runRevoke(ctx context.Context, args []any) (string, error) {
	cmd, err := s.runScript(ctx, revokeScript, args)
	if err != nil {
		return "", err
	}
	return cmd.Text()
}

// runScript runs one of the writing scripts over the entries, expiry, log
// and layout keys, followed by WAIT when MinReplicas is set.
func (s *Store) runScript(ctx context.Context, script *redis.Script, args []any) (*redis.Cmd, error) {
	if s.minRep > 0 {
		return s.runReplicated(ctx, script, args)
	}
	cmd := script.Run(ctx, s.client, s.keys[:4], args...)
	return cmd, cmd.Err()
}

// RevokeMany records entries in batches of revoke.MaxBatch: each batch is
// appended to the Journal (when set) in one transaction, then written to
// Redis by one script that merges every entry, appends each to the log
// and publishes one message carrying the whole batch. It returns the
// events in the entries' order. Every entry is validated first; a failure
// leaves a prefix of the batches recorded, and retrying is safe.
func (s *Store) RevokeMany(ctx context.Context, entries []revoke.Entry) ([]revoke.Event, error) {
	if err := revoke.ValidateAll(entries); err != nil {
		return nil, err
	}
	out := make([]revoke.Event, 0, len(entries))
	for batch := range revoke.Batches(entries, s.now().Unix()) {
		for i, e := range batch {
			batch[i] = clampEntry(e)
		}
		evs, err := s.revokeBatch(ctx, batch)
		if err != nil {
			return out, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// revokeBatch records one batch: journal, then one script.
func (s *Store) revokeBatch(ctx context.Context, batch []revoke.Entry) ([]revoke.Event, error) {
	if s.journal != nil {
		if _, err := s.journal.AppendRevocations(ctx, batch); err != nil {
			return nil, fmt.Errorf("revoke: record revocations: %w", err)
		}
	}
	args := make([]any, 0, 3+batchArgs*len(batch))
	args = append(args, s.maxLen, s.channel, revoke.ProtocolVersion)
	for _, e := range batch {
		msg, err := redissync.MessagePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("revoke: encode event: %w", err)
		}
		args = append(args, redissync.Field(e), e.Expires, e.Before, string(e.Kind), e.ID, e.At, e.V, msg)
	}
	cmd, err := s.runScript(ctx, revokeBatchScript, args)
	if isScriptError(err, "NOLAYOUT") {
		if err = s.EnsureLayout(ctx); err == nil {
			cmd, err = s.runScript(ctx, revokeBatchScript, args)
		}
	}
	var ids []string
	if err == nil {
		ids, err = cmd.StringSlice()
	}
	if err == nil && len(ids) != len(batch) {
		err = fmt.Errorf("script returned %d ids for %d entries", len(ids), len(batch))
	}
	if err != nil {
		return nil, fmt.Errorf("revoke: store revocations: %w", err)
	}
	if sid, ok := redissync.ParseStreamID(ids[len(ids)-1]); ok {
		s.lastMu.Lock()
		if s.lastID.Less(sid) {
			s.lastID = sid
		}
		s.lastMu.Unlock()
	}
	evs := make([]revoke.Event, len(batch))
	for i, e := range batch {
		evs[i] = revoke.Event{Entry: e, Cursor: ids[i]}
	}
	return evs, nil
}

// batchArgs is how many script arguments one entry of a batch takes.
const batchArgs = 8

// isScriptError reports whether err is the error reply a script raised
// with the given code.
func isScriptError(err error, code string) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), code)
}

// ErrNotReplicated is returned by Revoke when fewer than MinReplicas
// replicas acknowledged the revocation in time. The revocation was applied
// and published on the master; retrying is safe.
var ErrNotReplicated = errors.New("revoke: revocation not acknowledged by enough replicas")

// runReplicated runs a writing script and WAIT on one connection (WAIT
// covers the writes of its own connection only).
func (s *Store) runReplicated(ctx context.Context, script *redis.Script, args []any) (*redis.Cmd, error) {
	var conn redis.Cmdable = s.client
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, s.keys.Entries())
		if err != nil {
			return nil, err
		}
		conn = m
	}
	var run *redis.Cmd
	var wait *redis.Cmd
	_, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		run = script.Eval(ctx, p, s.keys[:4], args...)
		wait = p.Do(ctx, "WAIT", s.minRep, s.repWait.Milliseconds())
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := run.Err(); err != nil {
		return nil, err
	}
	if n, _ := wait.Int64(); n < int64(s.minRep) {
		return nil, fmt.Errorf("%w: %d of %d", ErrNotReplicated, n, s.minRep)
	}
	return run, nil
}

// pruneBatch bounds the entries one prune script removes.
const pruneBatch = 1000

// Prune forgets entries that can no longer affect any token at now and
// returns how many were removed. The log is bounded by LogMaxLen instead.
func (s *Store) Prune(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := pruneScript.Run(ctx, s.client, s.keys[:2], strconv.FormatInt(now.Unix(), 10), pruneBatch).Int()
		if err != nil {
			return total, fmt.Errorf("revoke: prune: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// Run prunes expired entries (from Redis and the Journal) every
// PruneInterval and, every
// LayoutCheckInterval, checks that Redis still holds the revocation state
// (re-seeding it from the Journal when it lost it), until ctx is done; it
// returns ctx's error.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(s.every)
	defer t.Stop()
	check := time.NewTicker(s.check)
	defer check.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-check.C:
			err := s.checkLayout(ctx)
			if err != nil && !failing && ctx.Err() == nil {
				s.log.Warn("revoke: checking the Redis revocation state failed", "err", err)
			}
			failing = err != nil
		case <-t.C:
			if n, err := s.Prune(ctx, s.now()); err != nil {
				s.log.Warn("revoke: pruning revocations failed", "err", err)
			} else if n > 0 {
				s.log.Debug("revoke: pruned expired revocations", "count", n)
			}
			if s.journal != nil {
				if _, err := s.journal.PruneRevocations(ctx, s.now()); err != nil && ctx.Err() == nil {
					s.log.Warn("revoke: pruning the revocation journal failed", "err", err)
				}
			}
		}
	}
}

// DefaultLogMaxLen is the approximate number of events the log keeps.
const DefaultLogMaxLen = 100_000

// maxUnix bounds stored times: the Set keeps uint32 seconds, and Lua
// formats numbers below 1e14 exactly.
const maxUnix = 1<<32 - 1

// newEpoch returns a fresh random epoch.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clampEntry bounds an entry's times to what every consumer can represent.
func clampEntry(e revoke.Entry) revoke.Entry {
	e.Expires = min(e.Expires, maxUnix)
	e.Before = min(e.Before, maxUnix)
	e.At = max(min(e.At, maxUnix), 0)
	return e
}

// mergeLua defines merge(field, exp, before), the one place where an
// entry is written to the entries hash (KEYS[1]) and the expiry index
// (KEYS[2]): it keeps the largest exp and the largest before of the stored
// value ("<exp>" or "<exp>:<before>") and the new one, so that writing an
// entry twice, or re-seeding over a newer write, never weakens it. The
// scripts that write entries start with it.
const mergeLua = `
local function merge(field, exp, before)
  exp = tonumber(exp)
  before = tonumber(before)
  local cur = redis.call('HGET', KEYS[1], field)
  if cur then
    local e, b = string.match(cur, '^(%d+):?(%d*)$')
    if e and tonumber(e) > exp then exp = tonumber(e) end
    if b and b ~= '' and tonumber(b) > before then before = tonumber(b) end
  end
  local v = string.format('%d', exp)
  if before > 0 then v = v .. ':' .. string.format('%d', before) end
  redis.call('HSET', KEYS[1], field, v)
  redis.call('ZADD', KEYS[2], exp, field)
end
`

// revokeScript merges an entry into the entries hash (keeping the largest
// exp and before), indexes it by expiry, appends it to the log and publishes
// it, all in one atomic step: a crash cannot separate write from publish.
// It refuses (error NOLAYOUT) when the layout marker is missing: Redis lost
// its data, and the store must re-seed it before anything new is written.
//
// KEYS: entries, expiry, log, layout. ARGV: field, exp, before, maxlen,
// channel, kind, id, at, message without its closing brace, version.
var revokeScript = redis.NewScript(mergeLua + `
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOLAYOUT revocation layout marker missing')
end
merge(ARGV[1], ARGV[2], ARGV[3])
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
  'v', ARGV[10], 'k', ARGV[6], 'i', ARGV[7], 'e', ARGV[2], 'b', ARGV[3], 'a', ARGV[8])
redis.call('PUBLISH', ARGV[5], ARGV[9] .. ',"cursor":"' .. id .. '"}')
return id
`)

// revokeBatchScript does what revokeScript does for each entry of a batch
// (merge, index, append to the log), then publishes one message carrying
// every event of the batch:
//
//	{"v":1,"layout":"<epoch>","prev":"<log id>","events":[<event with its cursor>,…]}
//
// prev is the newest log entry before the batch ("0-0" for an empty log,
// which trimming never makes empty again):
// since the script is atomic, the batch's events are exactly the log's
// entries after prev, so a validator whose cursor is prev may move it to
// the batch's last cursor without reading the log. The layout member makes
// a validator of an earlier release, which knows no "events", read the
// message as the announcement of the epoch in force: it catches up from
// the log at once, where every entry is, as one event each. It returns the
// log ids in the entries' order.
//
// KEYS: entries, expiry, log, layout. ARGV: maxlen, channel, version, then
// per entry: field, exp, before, kind, id, at, version, message without
// its closing brace.
var revokeBatchScript = redis.NewScript(mergeLua + `
local epoch = redis.call('HGET', KEYS[4], 'epoch')
if not epoch then
  return redis.error_reply('NOLAYOUT revocation layout marker missing')
end
local newest = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local prev = '0-0'
if #newest > 0 then prev = newest[1][1] end
local ids, msgs = {}, {}
for i = 4, #ARGV, 8 do
  merge(ARGV[i], ARGV[i+1], ARGV[i+2])
  local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*',
    'v', ARGV[i+6], 'k', ARGV[i+3], 'i', ARGV[i+4], 'e', ARGV[i+1], 'b', ARGV[i+2], 'a', ARGV[i+5])
  ids[#ids+1] = id
  msgs[#msgs+1] = ARGV[i+7] .. ',"cursor":"' .. id .. '"}'
end
if #ids > 0 then
  redis.call('PUBLISH', ARGV[2], '{"v":' .. ARGV[3] .. ',"layout":"' .. epoch .. '","prev":"' .. prev .. '","events":[' .. table.concat(msgs, ',') .. ']}')
end
return ids
`)

// seedScript merges ARGV's (field, exp, before) triples into the entries
// hash and the expiry index, as revokeScript does, without logging or
// publishing them: re-seeding restores state, validators load it as a
// snapshot. It refuses (error RESEED) when the seeding key no longer holds
// ARGV[1]: Redis lost data again, or another seed took over.
//
// KEYS: entries, expiry, seeding. ARGV: epoch, then triples.
var seedScript = redis.NewScript(mergeLua + `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return redis.error_reply('RESEED seed interrupted')
end
for i = 2, #ARGV, 3 do
  merge(ARGV[i], ARGV[i+1], ARGV[i+2])
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
