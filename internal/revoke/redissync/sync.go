// Package redissync reads the revocation state the auth service keeps in
// Redis and keeps a validator's revoke.Set current from it; it owns the
// Redis key layout and message format, which redisstore writes.
package redissync

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/redis/go-redis/v9"
)

// Config configures a Sync. The zero value is usable.
type Config struct {
	// Prefix is the key prefix the auth service's redisstore.Store uses (default
	// DefaultPrefix).
	Prefix string
	// Channel is the pub/sub channel (default revoke.Channel).
	Channel string
	// Issuer and Audience, when set, must match those the auth service
	// recorded in the layout marker; otherwise the sync is not Ready and
	// Status.Problem says why (every token would fail verification).
	Issuer, Audience string
	// PollInterval is how often the log is read even when pub/sub is quiet:
	// it catches anything pub/sub dropped and refreshes Status.LastSync.
	// Default 1s.
	PollInterval time.Duration
	// PruneInterval is how often expired entries leave the Set (default 30s).
	PruneInterval time.Duration
	// BatchSize is how many events one log read returns (default 1000).
	BatchSize int
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
	// OnEvent, if set, is called once for each new event applied (from
	// pub/sub or the log), from the synchroniser's goroutines. It must not
	// block.
	OnEvent func(revoke.Event)
}

// Sync keeps a Set complete from Redis: it subscribes to the channel
// for millisecond delivery, and reads the log from its cursor on every
// (re)subscription and every PollInterval, so nothing published while it
// was disconnected, or before it started, is missed. It is the validator
// side of Redis mode. Status is safe to call concurrently with Run.
type Sync struct {
	set     *revoke.Set
	client  redis.UniversalClient
	log     *Reader // the reader: Snapshot and Since
	channel string
	poll    time.Duration
	prune   time.Duration
	batch   int
	now     func() time.Time
	logger  *slog.Logger
	onEvent func(revoke.Event)
	issuer  string
	aud     string

	running atomic.Bool
	wake    chan struct{} // (re)subscribed: catch up now
	status  atomic.Pointer[revoke.Status]

	mu         sync.Mutex // guards the fields below and publishes status
	st         revoke.Status
	subscribed bool
	logOK      bool
	maxSeen    StreamID // newest event counted, from either path
	epoch      string   // layout epoch the Set is synced against (syncLoop only)
	curEpoch   string   // the layout epoch of the log st.Cursor is a position in
	lastErr    error    // the latest failure, reported when the connection drops
}

// New returns a synchroniser that fills set from client, which it
// does not close.
func New(set *revoke.Set, client redis.UniversalClient, cfg Config) (*Sync, error) {
	if set == nil || client == nil {
		return nil, errors.New("redissync: New: set and client are required")
	}
	if cfg.PollInterval < 0 || cfg.PruneInterval < 0 || cfg.BatchSize < 0 {
		return nil, errors.New("redissync: New: intervals and batch size must not be negative")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = 30 * time.Second
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 1000
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	reader, err := NewReader(client, ReaderConfig{
		Prefix: cfg.Prefix, Channel: cfg.Channel, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Sync{
		set: set, client: client, log: reader, channel: reader.channel,
		poll: cfg.PollInterval, prune: cfg.PruneInterval, batch: cfg.BatchSize,
		now: cfg.Clock, logger: cfg.Logger, onEvent: cfg.OnEvent,
		issuer: cfg.Issuer, aud: cfg.Audience,
		wake: make(chan struct{}, 1),
	}
	s.status.Store(&revoke.Status{})
	return s, nil
}

// Status returns how current the Set is. It never blocks.
func (s *Sync) Status() revoke.Status { return *s.status.Load() }

// Run synchronises until ctx is done, reconnecting forever, and returns
// ctx's error. It may be called once.
func (s *Sync) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("redissync: Sync.Run called twice")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			s.listen(ctx)
		}
	}()
	s.syncLoop(ctx)
	wg.Wait()
	s.mu.Lock()
	s.subscribed, s.logOK, s.st.Connected = false, false, false // stopping: not a drop worth a warning
	st := s.st
	s.status.Store(&st)
	s.mu.Unlock()
	return ctx.Err()
}

// syncLoop reads the log on start, on every (re)subscription and every
// PollInterval, and prunes the Set.
func (s *Sync) syncLoop(ctx context.Context) {
	poll := time.NewTicker(s.poll)
	defer poll.Stop()
	prune := time.NewTicker(s.prune)
	defer prune.Stop()
	s.catchUp(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			s.catchUp(ctx)
		case <-poll.C:
			s.catchUp(ctx)
		case <-prune.C:
			s.set.Prune(s.now())
		}
	}
}

// catchUp brings the Set up to the end of the log: from the cursor, or
// from a snapshot when there is no cursor yet, the log no longer reaches
// back to it, or the layout epoch changed (the auth service re-seeded Redis
// after data loss). On success the Set held everything up to the moment it
// started, which becomes LastSync. A missing layout marker stops it: before
// the first Ready (wrong prefix or database, or a Redis that lost its data)
// the sync stays not Ready; afterwards it keeps its Set, stops advancing
// LastSync, and loads a snapshot once the marker is back.
func (s *Sync) catchUp(ctx context.Context) {
	start := s.now()
	s.mu.Lock()
	cursor := s.st.Cursor
	s.mu.Unlock()
	epoch := s.epoch
	if epoch == "" {
		cursor = ""
	}
	for snapshots := 0; ; {
		if cursor == "" {
			if snapshots++; snapshots > 2 {
				s.fail(errors.New("log keeps expiring under the reader"))
				return
			}
			var err error
			if cursor, epoch, err = s.loadSnapshot(ctx); err != nil {
				s.failLayout(err)
				return
			}
		}
		events, now, err := s.log.since(ctx, cursor, s.batch)
		if err == nil || errors.Is(err, revoke.ErrCursorExpired) {
			if now != epoch {
				s.logger.Warn("revoke: the Redis revocation state was re-seeded (new epoch); loading a snapshot", "epoch", now, "was", epoch)
				cursor = ""
				continue
			}
		}
		if errors.Is(err, revoke.ErrCursorExpired) {
			s.logger.Info("revoke: revocation log no longer reaches the cursor; loading a snapshot", "cursor", cursor)
			cursor = ""
			continue
		}
		if err != nil {
			s.failLayout(err)
			return
		}
		if len(events) > 0 {
			cursor = events[len(events)-1].Cursor
			s.applyLogged(events, epoch)
		}
		if len(events) < s.batch {
			// Ready only now, with LastSync: the snapshot alone may miss
			// revocations written between its cursor and its scan.
			s.epoch = epoch
			s.update(func() { s.logOK, s.st.Ready, s.st.LastSync, s.st.Problem = true, true, start, "" })
			return
		}
	}
}

// failLayout records a failed read; a missing or foreign layout also
// forgets the epoch, so that the next success starts from a snapshot.
func (s *Sync) failLayout(err error) {
	var problem string
	switch {
	case errors.Is(err, ErrLayoutMissing):
		problem = "no revocation layout marker in Redis: check that REDIS_PREFIX and REDIS_DB match the auth service's, or Redis lost its data and the auth service has not re-seeded it yet"
		if s.Status().Ready {
			problem = "the revocation layout marker vanished from Redis (data loss); keeping the last known state until the auth service re-seeds it"
		}
	case errors.Is(err, revoke.ErrUnsupported), errors.Is(err, revoke.ErrLayoutMismatch):
		problem = strings.TrimPrefix(err.Error(), "revoke: ")
	default:
		s.fail(err)
		return
	}
	s.epoch = ""
	if s.Status().Problem != problem {
		s.logger.Error("revoke: "+problem, "prefix", s.log.keys.Layout())
	}
	s.update(func() { s.logOK, s.st.Problem = false, problem })
}

// loadSnapshot applies a full snapshot, batch by batch as it is scanned,
// and returns its cursor and layout epoch. Entries applied before a failed
// scan are genuine revocations, so they stay; the cursor moves only once
// the whole scan succeeded, and catchUp marks the Set Ready once the log
// after it is read.
func (s *Sync) loadSnapshot(ctx context.Context) (string, string, error) {
	applied, first := 0, true
	cursor, layout, err := s.log.scan(ctx, func(b scanBatch) {
		if first && len(b.entries) > 0 {
			first = false
			s.set.Reserve(kindEstimates(b))
		}
		applied += s.set.ApplyAll(b.entries)
	})
	if err == nil {
		err = layout.Check(s.issuer, s.aud)
	}
	if err != nil {
		return "", "", err
	}
	s.update(func() {
		if s.st.Ready {
			s.st.Resyncs++
		}
		s.st.Cursor, s.curEpoch = cursor, layout.Epoch
	})
	s.logger.Debug("revoke: loaded revocation snapshot", "entries", applied, "cursor", cursor, "epoch", layout.Epoch)
	return cursor, layout.Epoch, nil
}

// kindEstimates extrapolates the kinds on the first page of a snapshot to
// the whole hash: HSCAN visits buckets in hash order, so a page is a fair
// sample. No spare is added: a map that outgrows its hint grows one table
// at a time, while a hint rounded past a power of two would double it.
func kindEstimates(b scanBatch) (tokens, sessions, users int) {
	for _, e := range b.entries {
		switch e.Kind {
		case revoke.KindToken:
			tokens++
		case revoke.KindSession:
			sessions++
		case revoke.KindUser:
			users++
		}
	}
	return b.estimate(tokens), b.estimate(sessions), b.estimate(users)
}

// fail records a failed read; update logs it if it ends the connection.
func (s *Sync) fail(err error) {
	s.update(func() { s.logOK, s.lastErr = false, err })
}

// applyLogged applies events read from the log of epoch, all at once, and
// advances the cursor, unless a batch message already moved it further
// in that log.
func (s *Sync) applyLogged(events []revoke.Event, epoch string) {
	s.applyEvents(events)
	last := events[len(events)-1].Cursor
	s.update(func() {
		if s.curEpoch != epoch || !streamLess(last, s.st.Cursor) {
			s.st.Cursor, s.curEpoch = last, epoch
		}
	})
}

// streamLess reports whether cursor a is a stream id before cursor b (false
// when either is not a stream id).
func streamLess(a, b string) bool {
	x, ok1 := ParseStreamID(a)
	y, ok2 := ParseStreamID(b)
	return ok1 && ok2 && x.Less(y)
}

// applyEvents applies the live ones of events to the Set in one batch
// (ApplyAll: one lock and at most one table swap per chunk) and counts
// and reports those newer than any seen before. It does not move the
// cursor.
func (s *Sync) applyEvents(events []revoke.Event) {
	now := s.now()
	live := make([]revoke.Entry, 0, len(events))
	for _, ev := range events {
		if ev.Live(now) {
			live = append(live, ev.Entry)
		}
	}
	s.set.ApplyAll(live)
	var fresh []revoke.Event
	s.update(func() {
		for _, ev := range events {
			if s.count(ev) {
				fresh = append(fresh, ev)
			}
		}
	})
	s.report(fresh)
}

// applyMessage applies one pub/sub message: one event or a batch. It does
// not move the cursor: only the log proves that nothing before an event
// was missed. A layout announcement wakes the reader. An entry this
// version cannot interpret goes to the Set, which then refuses every token
// while it is live.
func (s *Sync) applyMessage(payload string) {
	m, err := decodeMessage(payload)
	if err != nil {
		if errors.Is(err, revoke.ErrUnsupported) {
			// A batch this version cannot read: its entries are in the
			// log, as one event each, which the reader reads now.
			s.logger.Warn("revoke: revocation batch message this version cannot read; reading the log", "err", err)
			s.wakeReader()
			return
		}
		s.logger.Warn("revoke: ignoring malformed revocation message", "err", err)
		return
	}
	if len(m.events) == 0 {
		s.wakeReader()
		return
	}
	events := m.events[:0:0]
	for i, ev := range m.events {
		err := m.errs[i]
		if err != nil && !errors.Is(err, revoke.ErrUnsupported) {
			s.logger.Warn("revoke: ignoring malformed revocation message", "err", err)
			continue
		}
		if err != nil {
			s.logger.Error("revoke: revocation this version cannot interpret; refusing every token while it is in force (upgrade this service)", "err", err)
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return
	}
	s.applyEvents(events)
	if m.prev == "" || len(events) < len(m.events) {
		return
	}
	// The batch is every log entry after prev up to its last event (one
	// atomic script wrote them): with the Set holding everything up to
	// prev, or up to one of the batch's own events (the reader got there
	// first), it now holds everything up to the batch's last event, so
	// the cursor may move there without reading the log. Only from such a
	// position, in the same epoch: a missed message leaves the cursor for
	// the log to advance.
	last := m.events[len(m.events)-1].Cursor
	s.update(func() {
		if s.curEpoch != m.layout || !streamLess(m.prev, last) || s.st.Cursor == last {
			return
		}
		from := s.st.Cursor == m.prev || (m.prev == zeroCursor && s.st.Cursor == zeroCursor+epochSep+m.layout)
		for _, ev := range m.events {
			from = from || ev.Cursor == s.st.Cursor
		}
		if from {
			s.st.Cursor = last
		}
	})
}

// count records ev in the counters if it is newer than any event seen so
// far. Callers hold mu.
func (s *Sync) count(ev revoke.Event) bool {
	id, ok := ParseStreamID(ev.Cursor)
	if ok && !s.maxSeen.Less(id) {
		return false
	}
	if ok {
		s.maxSeen = id
	}
	s.st.EventsApplied++
	return true
}

func (s *Sync) report(events []revoke.Event) {
	if s.onEvent == nil {
		return
	}
	for _, ev := range events {
		s.onEvent(ev)
	}
}

// update runs f under mu and publishes the resulting status.
func (s *Sync) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.st.Connected
	f()
	s.st.Connected = s.subscribed && s.logOK
	st := s.st
	s.status.Store(&st)
	switch {
	case was && !st.Connected:
		s.logger.Warn("revoke: lost the Redis revocation source; validating on the last known state", "err", s.lastErr, "last_sync", st.LastSync)
	case !was && st.Connected:
		s.logger.Info("revoke: connected to the Redis revocation source", "last_sync", st.LastSync)
	}
}

// listen holds one pub/sub connection until it fails or ctx is done.
// Receive (not Channel) is used so that every (re)subscription is seen and
// triggers a catch-up from the log.
func (s *Sync) listen(ctx context.Context) {
	ps := s.client.Subscribe(ctx, s.channel)
	defer ps.Close()
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()
	var b backoff
	heard := time.Now()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, s.poll)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isTimeout(err) {
				if time.Since(heard) > 3*s.poll+time.Second {
					s.logger.Info("revoke: revocation subscription silent; reconnecting")
					s.update(func() { s.subscribed = false })
					return // a fresh connection replaces a half-open one
				}
				_ = ps.Ping(ctx)
				continue
			}
			s.update(func() { s.subscribed, s.lastErr = false, err })
			b.wait(ctx)
			continue
		}
		heard = time.Now()
		b.reset()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.update(func() { s.subscribed = true })
				s.wakeReader()
			}
		case *redis.Message:
			s.applyMessage(m.Payload)
		}
	}
}

// wakeReader asks the reader to catch up now.
func (s *Sync) wakeReader() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
