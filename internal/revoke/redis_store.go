package revoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStoreConfig configures a RedisStore. The zero value is usable.
type RedisStoreConfig struct {
	// Prefix is prepended to every key (default DefaultRedisPrefix). Stores
	// and syncs must agree on it.
	Prefix string
	// Channel is the pub/sub channel events are published on (default
	// Channel). Only tests sharing one server need another.
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
	Journal Journal
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

// RedisStore keeps revocations in Redis and publishes them on pub/sub. It
// is the auth-service side of Redis mode: a Revoker, and a Source the
// revocation feed can serve. Standalone, Sentinel and Cluster clients all
// work. A RedisStore is safe for concurrent use.
type RedisStore struct {
	client  redis.UniversalClient
	keys    redisKeys
	channel string
	maxLen  int64
	minRep  int
	repWait time.Duration
	every   time.Duration
	check   time.Duration
	now     func() time.Time
	log     *slog.Logger
	fan     fanout
	journal Journal
	layout  Layout // Epoch unset: what this store writes into the marker

	layoutMu sync.Mutex // one EnsureLayout at a time
	epoch    string     // guarded by layoutMu: the epoch last seen in force
	lastMu   sync.Mutex
	lastID   streamID // the newest log id this store wrote
}

var (
	_ Revoker = (*RedisStore)(nil)
	_ Source  = (*RedisStore)(nil)
)

// NewRedisStore returns a store using client, which it does not close.
func NewRedisStore(client redis.UniversalClient, cfg RedisStoreConfig) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("revoke: NewRedisStore: nil client")
	}
	if cfg.LogMaxLen < 0 || cfg.PruneInterval < 0 || cfg.MinReplicas < 0 || cfg.ReplicaTimeout < 0 || cfg.LayoutCheckInterval < 0 {
		return nil, errors.New("revoke: NewRedisStore: LogMaxLen, MinReplicas and intervals must not be negative")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.Channel == "" {
		cfg.Channel = Channel
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
	s := &RedisStore{
		client: client, keys: newRedisKeys(cfg.Prefix), channel: cfg.Channel,
		maxLen: cfg.LogMaxLen, minRep: cfg.MinReplicas, repWait: cfg.ReplicaTimeout, every: cfg.PruneInterval, now: cfg.Clock, log: cfg.Logger,
		check: cfg.LayoutCheckInterval, journal: cfg.Journal,
		layout: Layout{V: ProtocolVersion, Issuer: cfg.Issuer, Audience: cfg.Audience},
	}
	s.fan = fanout{client: client, channel: cfg.Channel, log: cfg.Logger}
	return s, nil
}

// Revoke records e in the Journal (when set), then in Redis, and
// publishes it on the channel, the Redis part in one atomic script. It
// succeeds only once both took it; retrying a failed Revoke is safe, and
// revoking an already revoked subject succeeds and keeps the later expiry.
// When Redis has lost its data, Revoke re-seeds it first.
func (s *RedisStore) Revoke(ctx context.Context, e Entry) (Event, error) {
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	if e.At == 0 {
		e.At = s.now().Unix()
	}
	e = clampEntry(e.stamp())
	if s.journal != nil {
		if _, err := s.journal.AppendRevocation(ctx, e); err != nil {
			return Event{}, fmt.Errorf("revoke: record revocation: %w", err)
		}
	}
	msg, err := messagePrefix(e)
	if err != nil {
		return Event{}, fmt.Errorf("revoke: encode event: %w", err)
	}
	args := []any{field(e), e.Expires, e.Before, s.maxLen, s.channel, string(e.Kind), e.ID, e.At, msg, e.V}
	id, err := s.runRevoke(ctx, args)
	if isScriptError(err, "NOLAYOUT") {
		if err = s.EnsureLayout(ctx); err == nil {
			id, err = s.runRevoke(ctx, args)
		}
	}
	if err != nil {
		return Event{}, fmt.Errorf("revoke: store revocation: %w", err)
	}
	if sid, ok := parseStreamID(id); ok {
		s.lastMu.Lock()
		if s.lastID.less(sid) {
			s.lastID = sid
		}
		s.lastMu.Unlock()
	}
	return Event{Entry: e, Cursor: id}, nil
}

func (s *RedisStore) runRevoke(ctx context.Context, args []any) (string, error) {
	if s.minRep > 0 {
		return s.revokeReplicated(ctx, args)
	}
	return revokeScript.Run(ctx, s.client, s.keys[:4], args...).Text()
}

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

// revokeReplicated runs the revoke script and WAIT on one connection (WAIT
// covers the writes of its own connection only).
func (s *RedisStore) revokeReplicated(ctx context.Context, args []any) (string, error) {
	var conn redis.Cmdable = s.client
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, s.keys.entries())
		if err != nil {
			return "", err
		}
		conn = m
	}
	var run *redis.Cmd
	var wait *redis.Cmd
	_, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		run = revokeScript.Eval(ctx, p, s.keys[:4], args...)
		wait = p.Do(ctx, "WAIT", s.minRep, s.repWait.Milliseconds())
		return nil
	})
	if err != nil {
		return "", err
	}
	if err := run.Err(); err != nil {
		return "", err
	}
	if n, _ := wait.Int64(); n < int64(s.minRep) {
		return "", fmt.Errorf("%w: %d of %d", ErrNotReplicated, n, s.minRep)
	}
	return run.Text()
}

// snapshotBatch is the HSCAN COUNT hint used while loading a snapshot. Each
// HSCAN keeps Redis busy for a few milliseconds; larger batches save round
// trips but delay other clients' commands for longer.
const snapshotBatch = 10_000

// Snapshot returns the live entries and the cursor they are current at. The
// cursor is read before the entries, so every event up to it is included;
// events after it may be included too, which is harmless.
func (s *RedisStore) Snapshot(ctx context.Context) (Snapshot, error) {
	entries := []Entry{} // an empty snapshot still encodes as []
	cursor, layout, err := s.scan(ctx, func(b scanBatch) {
		if cap(entries) == 0 && len(b.entries) > 0 {
			est := b.estimate(len(b.entries))
			entries = make([]Entry, 0, est+est/16) // spare: growing copies it all
		}
		entries = append(entries, b.entries...)
	})
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Cursor: cursor, Layout: &layout, Entries: entries}, nil
}

// SnapshotFunc is Snapshot streamed: it calls fn with the live entries one
// batch at a time, as they arrive, and returns the cursor they are current
// at (read before the entries, as for Snapshot). fn runs on the calling
// goroutine, one batch after another; the batch's backing array is reused
// once fn returns, so fn must copy what it keeps. On error fn may already
// have seen some entries: they are genuine revocations, but the state is
// complete only once SnapshotFunc returns nil.
func (s *RedisStore) SnapshotFunc(ctx context.Context, fn func(batch []Entry)) (string, error) {
	cursor, _, err := s.scan(ctx, func(b scanBatch) { fn(b.entries) })
	return cursor, err
}

// scanBatch is one decoded HSCAN page.
type scanBatch struct {
	entries []Entry // the page's live, well-formed entries; reused afterwards
	fields  int     // hash fields on the page
	total   int64   // HLEN when the scan began
}

// estimate extrapolates a count n made on this page to the whole hash, for
// presizing.
func (b scanBatch) estimate(n int) int {
	if b.fields == 0 || n == 0 || b.total <= int64(b.fields) {
		return n
	}
	return int(min(int64(n)*b.total/int64(b.fields), maxPresize))
}

// maxPresize bounds any allocation sized from Redis' word (HLEN).
const maxPresize = 1 << 26

// scanPage is one raw HSCAN reply, handed from the scanning goroutine to
// the decoding one.
type scanPage struct {
	kv   []string
	last bool // the scan is complete after this page
	err  error
}

// scan reads the log position, then HSCANs the entries hash, calling fn
// for each page. The next HSCAN is sent while the previous page is decoded
// and consumed, so Redis, the reply parsing and fn overlap.
//
// It reads the layout marker in the same round trip and fails with
// ErrLayoutMissing when there is none, or ErrUnsupported for a newer
// layout: the entries would not be the auth service's complete state.
func (s *RedisStore) scan(ctx context.Context, fn func(scanBatch)) (string, Layout, error) {
	// One round trip, executed in order: the position is read first.
	var last *redis.XMessageSliceCmd
	var hlen *redis.IntCmd
	var marker *redis.MapStringStringCmd
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		marker = p.HGetAll(ctx, s.keys.layout())
		last = p.XRevRangeN(ctx, s.keys.log(), "+", "-", 1)
		hlen = p.HLen(ctx, s.keys.entries())
		return nil
	}); err != nil {
		return "", Layout{}, fmt.Errorf("revoke: read log position: %w", err)
	}
	layout, ok := parseLayout(marker.Val())
	if !ok {
		return "", Layout{}, ErrLayoutMissing
	}
	if layout.V > ProtocolVersion {
		return "", layout, layout.check("", "")
	}
	cursor := zeroCursor + epochSep + layout.Epoch
	if msgs := last.Val(); len(msgs) > 0 {
		cursor = msgs[0].ID
	}

	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan scanPage, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.scanPages(ctx, pages)
	}()
	defer func() {
		cancel()
		<-done
	}()

	now := s.now()
	var buf []Entry
	for page := range pages {
		if ctx.Err() != nil {
			break // fn may have cancelled ctx: it gets no further batch
		}
		if page.err != nil {
			return "", Layout{}, fmt.Errorf("revoke: scan revocations: %w", page.err)
		}
		if buf == nil {
			buf = make([]Entry, 0, len(page.kv)/2)
		}
		buf = buf[:0]
		for i := 0; i+1 < len(page.kv); i += 2 {
			e, err := decodeStored(page.kv[i], page.kv[i+1])
			if err != nil && !errors.Is(err, ErrUnsupported) {
				s.log.Warn("revoke: skipping malformed stored revocation", "field", page.kv[i], "err", err)
				continue
			} // an unsupported entry goes on: the Set must see it to refuse tokens
			if e.Live(now) {
				buf = append(buf, e)
			}
		}
		fn(scanBatch{entries: buf, fields: len(page.kv) / 2, total: hlen.Val()})
		if page.last {
			return cursor, layout, nil
		}
	}
	// The scanner stopped early: ctx is done.
	return "", Layout{}, fmt.Errorf("revoke: scan revocations: %w", context.Cause(ctx))
}

// scanPages sends every HSCAN page of the entries hash to pages, each as
// soon as it arrives, and closes pages when the scan ends, fails, or ctx is
// done.
func (s *RedisStore) scanPages(ctx context.Context, pages chan<- scanPage) {
	defer close(pages)
	var pos uint64
	for {
		kv, next, err := s.client.HScan(ctx, s.keys.entries(), pos, "", snapshotBatch).Result()
		page := scanPage{kv: kv, last: next == 0, err: err}
		select {
		case pages <- page:
		case <-ctx.Done():
			return
		}
		if page.last || err != nil {
			return
		}
		pos = next
	}
}

// Since returns up to limit events after cursor, oldest first. It returns
// ErrCursorExpired when the log was trimmed past the cursor, when the
// cursor was never in this log (Redis lost data or failed over), and for a
// malformed cursor: in each case the reader must load a snapshot. It
// returns ErrLayoutMissing when Redis holds no layout marker.
func (s *RedisStore) Since(ctx context.Context, cursor string, limit int) ([]Event, error) {
	events, _, err := s.since(ctx, cursor, limit)
	return events, err
}

// since is Since that also returns the epoch of the layout it read from.
func (s *RedisStore) since(ctx context.Context, cursor string, limit int) ([]Event, string, error) {
	id, epoch, _ := strings.Cut(cursor, epochSep)
	if _, ok := parseStreamID(id); !ok || (epoch != "" && id != zeroCursor) {
		return nil, "", ErrCursorExpired
	}
	if limit <= 0 {
		limit = 1000
	}
	res, err := sinceScript.Run(ctx, s.client, []string{s.keys.log(), s.keys.layout()}, id, limit, epoch).Slice()
	if err != nil {
		return nil, "", fmt.Errorf("revoke: read log: %w", err)
	}
	if len(res) == 0 || res[0] == int64(2) {
		return nil, "", ErrLayoutMissing
	}
	epoch, _ = res[1].(string)
	if res[0] != int64(1) {
		return nil, epoch, ErrCursorExpired
	}
	if len(res) < 3 {
		return nil, epoch, nil
	}
	raw, _ := res[2].([]any)
	events := make([]Event, 0, len(raw))
	for _, r := range raw {
		m, ok := xmessage(r)
		if !ok {
			return nil, "", errors.New("revoke: read log: unexpected reply")
		}
		ev, err := decodeStreamEvent(m)
		if err != nil && !errors.Is(err, ErrUnsupported) {
			s.log.Warn("revoke: skipping malformed log entry", "cursor", m.ID, "err", err)
			continue
		} // an unsupported entry goes on: the Set must see it to refuse tokens
		events = append(events, ev)
	}
	return events, epoch, nil
}

// xmessage converts one stream entry returned by a script ({id, {k, v,
// ...}}) to a redis.XMessage.
func xmessage(r any) (redis.XMessage, bool) {
	pair, ok := r.([]any)
	if !ok || len(pair) != 2 {
		return redis.XMessage{}, false
	}
	id, ok1 := pair[0].(string)
	kv, ok2 := pair[1].([]any)
	if !ok1 || !ok2 {
		return redis.XMessage{}, false
	}
	m := redis.XMessage{ID: id, Values: make(map[string]any, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			m.Values[k] = kv[i+1]
		}
	}
	return m, true
}

// Subscribe returns a channel that receives a value (coalesced) whenever a
// revocation is published, and whenever the shared pub/sub connection is
// re-established (events may have been missed meanwhile). The store keeps
// one subscription for all its subscribers, open while any exists.
func (s *RedisStore) Subscribe() (<-chan struct{}, func()) { return s.fan.subscribe() }

// pruneBatch bounds the entries one prune script removes.
const pruneBatch = 1000

// Prune forgets entries that can no longer affect any token at now and
// returns how many were removed. The log is bounded by LogMaxLen instead.
func (s *RedisStore) Prune(ctx context.Context, now time.Time) (int, error) {
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
func (s *RedisStore) Run(ctx context.Context) error {
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

// fanout shares one pub/sub subscription among local subscribers.
type fanout struct {
	client  redis.UniversalClient
	channel string
	log     *slog.Logger

	mu   sync.Mutex
	subs map[chan struct{}]struct{}
	stop context.CancelFunc // non-nil while the listener runs
	done chan struct{}
}

func (f *fanout) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = make(map[chan struct{}]struct{})
	}
	f.subs[ch] = struct{}{}
	if f.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		f.stop, f.done = cancel, make(chan struct{})
		go f.listen(ctx, f.done)
	}
	var once sync.Once
	return ch, func() { once.Do(func() { f.unsubscribe(ch) }) }
}

// unsubscribe removes ch; the last subscriber stops the listener and waits
// for it.
func (f *fanout) unsubscribe(ch chan struct{}) {
	f.mu.Lock()
	delete(f.subs, ch)
	if len(f.subs) > 0 || f.stop == nil {
		f.mu.Unlock()
		return
	}
	stop, done := f.stop, f.done
	f.stop, f.done = nil, nil
	f.mu.Unlock()
	stop()
	<-done
}

func (f *fanout) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// listen receives from the shared subscription until ctx is done.
func (f *fanout) listen(ctx context.Context, done chan struct{}) {
	defer close(done)
	ps := f.client.Subscribe(ctx, f.channel)
	defer ps.Close()
	// Closing the subscription interrupts a blocked Receive.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	var backoff backoff
	for ctx.Err() == nil {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Debug("revoke: revocation subscription interrupted", "err", err)
				backoff.wait(ctx)
			}
			continue
		}
		backoff.reset()
		switch msg.(type) {
		case *redis.Subscription, *redis.Message:
			f.notify()
		}
	}
}

// backoff waits exponentially longer between failed attempts, from 50ms up
// to 5s.
type backoff struct{ d time.Duration }

func (b *backoff) reset() { b.d = 0 }

func (b *backoff) wait(ctx context.Context) {
	b.d = min(max(2*b.d, 50*time.Millisecond), 5*time.Second)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
