package revoke

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSyncConfig configures a RedisSync. The zero value is usable.
type RedisSyncConfig struct {
	// Prefix is the key prefix the auth service's RedisStore uses (default
	// DefaultRedisPrefix).
	Prefix string
	// Channel is the pub/sub channel (default Channel).
	Channel string
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
	OnEvent func(Event)
}

// RedisSync keeps a Set complete from Redis: it subscribes to the channel
// for millisecond delivery, and reads the log from its cursor on every
// (re)subscription and every PollInterval, so nothing published while it
// was disconnected, or before it started, is missed. It is the validator
// side of Redis mode. Status is safe to call concurrently with Run.
type RedisSync struct {
	set     *Set
	client  redis.UniversalClient
	log     *RedisStore // the reader: Snapshot and Since
	channel string
	poll    time.Duration
	prune   time.Duration
	batch   int
	now     func() time.Time
	logger  *slog.Logger
	onEvent func(Event)

	running atomic.Bool
	wake    chan struct{} // (re)subscribed: catch up now
	status  atomic.Pointer[Status]

	mu         sync.Mutex // guards the fields below and publishes status
	st         Status
	subscribed bool
	logOK      bool
	maxSeen    streamID // newest event counted, from either path
}

// NewRedisSync returns a synchroniser that fills set from client, which it
// does not close.
func NewRedisSync(set *Set, client redis.UniversalClient, cfg RedisSyncConfig) (*RedisSync, error) {
	if set == nil || client == nil {
		return nil, errors.New("revoke: NewRedisSync: set and client are required")
	}
	if cfg.PollInterval < 0 || cfg.PruneInterval < 0 || cfg.BatchSize < 0 {
		return nil, errors.New("revoke: NewRedisSync: intervals and batch size must not be negative")
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
	reader, err := NewRedisStore(client, RedisStoreConfig{
		Prefix: cfg.Prefix, Channel: cfg.Channel, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &RedisSync{
		set: set, client: client, log: reader, channel: reader.channel,
		poll: cfg.PollInterval, prune: cfg.PruneInterval, batch: cfg.BatchSize,
		now: cfg.Clock, logger: cfg.Logger, onEvent: cfg.OnEvent,
		wake: make(chan struct{}, 1),
	}
	s.status.Store(&Status{})
	return s, nil
}

// Status returns how current the Set is. It never blocks.
func (s *RedisSync) Status() Status { return *s.status.Load() }

// Run synchronises until ctx is done, reconnecting forever, and returns
// ctx's error. It may be called once.
func (s *RedisSync) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("revoke: RedisSync.Run called twice")
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
	s.update(func() { s.subscribed, s.logOK = false, false })
	return ctx.Err()
}

// syncLoop reads the log on start, on every (re)subscription and every
// PollInterval, and prunes the Set.
func (s *RedisSync) syncLoop(ctx context.Context) {
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
// from a snapshot when there is no cursor yet or the log no longer reaches
// back to it. On success the Set held everything up to the moment it
// started, which becomes LastSync.
func (s *RedisSync) catchUp(ctx context.Context) {
	start := s.now()
	s.mu.Lock()
	cursor := s.st.Cursor
	s.mu.Unlock()
	for snapshots := 0; ; {
		if cursor == "" {
			if snapshots++; snapshots > 2 {
				s.fail(errors.New("log keeps expiring under the reader"))
				return
			}
			var err error
			if cursor, err = s.loadSnapshot(ctx); err != nil {
				s.fail(err)
				return
			}
		}
		events, err := s.log.Since(ctx, cursor, s.batch)
		if errors.Is(err, ErrCursorExpired) {
			s.logger.Info("revoke: revocation log no longer reaches the cursor; loading a snapshot", "cursor", cursor)
			cursor = ""
			continue
		}
		if err != nil {
			s.fail(err)
			return
		}
		if len(events) > 0 {
			cursor = events[len(events)-1].Cursor
			s.applyLogged(events)
		}
		if len(events) < s.batch {
			// Ready only now, with LastSync: the snapshot alone may miss
			// revocations written between its cursor and its scan.
			s.update(func() { s.logOK, s.st.Ready, s.st.LastSync = true, true, start })
			return
		}
	}
}

// loadSnapshot applies a full snapshot, batch by batch as it is scanned,
// and returns its cursor. Entries applied before a failed scan are genuine
// revocations, so they stay; the cursor moves only once the whole scan
// succeeded, and catchUp marks the Set Ready once the log after it is read.
func (s *RedisSync) loadSnapshot(ctx context.Context) (string, error) {
	applied, first := 0, true
	cursor, err := s.log.scan(ctx, func(b scanBatch) {
		if first && len(b.entries) > 0 {
			first = false
			s.set.reserve(kindEstimates(b))
		}
		applied += s.set.ApplyAll(b.entries)
	})
	if err != nil {
		return "", err
	}
	s.update(func() {
		if s.st.Ready {
			s.st.Resyncs++
		}
		s.st.Cursor = cursor
	})
	s.logger.Debug("revoke: loaded revocation snapshot", "entries", applied, "cursor", cursor)
	return cursor, nil
}

// kindEstimates extrapolates the kinds on the first page of a snapshot to
// the whole hash: HSCAN visits buckets in hash order, so a page is a fair
// sample. No spare is added: a map that outgrows its hint grows one table
// at a time, while a hint rounded past a power of two would double it.
func kindEstimates(b scanBatch) (tokens, sessions, users int) {
	for _, e := range b.entries {
		switch e.Kind {
		case KindToken:
			tokens++
		case KindSession:
			sessions++
		case KindUser:
			users++
		}
	}
	return b.estimate(tokens), b.estimate(sessions), b.estimate(users)
}

func (s *RedisSync) fail(err error) {
	if s.Status().Connected {
		s.logger.Warn("revoke: reading revocations from Redis failed", "err", err)
	}
	s.update(func() { s.logOK = false })
}

// applyLogged applies events read from the log and advances the cursor.
func (s *RedisSync) applyLogged(events []Event) {
	now := s.now()
	var fresh []Event
	for _, ev := range events {
		if ev.Live(now) {
			s.set.Apply(ev.Entry)
		}
	}
	s.update(func() {
		for _, ev := range events {
			if s.count(ev) {
				fresh = append(fresh, ev)
			}
		}
		s.st.Cursor = events[len(events)-1].Cursor
	})
	s.report(fresh)
}

// applyMessage applies one pub/sub message. It does not move the cursor:
// only the log proves that nothing before an event was missed.
func (s *RedisSync) applyMessage(payload string) {
	ev, err := decodeMessage(payload)
	if err != nil {
		s.logger.Warn("revoke: ignoring malformed revocation message", "err", err)
		return
	}
	if ev.Live(s.now()) {
		s.set.Apply(ev.Entry)
	}
	var fresh []Event
	s.update(func() {
		if s.count(ev) {
			fresh = append(fresh, ev)
		}
	})
	s.report(fresh)
}

// count records ev in the counters if it is newer than any event seen so
// far. Callers hold mu.
func (s *RedisSync) count(ev Event) bool {
	id, ok := parseStreamID(ev.Cursor)
	if ok && !s.maxSeen.less(id) {
		return false
	}
	if ok {
		s.maxSeen = id
	}
	s.st.EventsApplied++
	return true
}

func (s *RedisSync) report(events []Event) {
	if s.onEvent == nil {
		return
	}
	for _, ev := range events {
		s.onEvent(ev)
	}
}

// update runs f under mu and publishes the resulting status.
func (s *RedisSync) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	s.st.Connected = s.subscribed && s.logOK
	st := s.st
	s.status.Store(&st)
}

// listen holds one pub/sub connection until it fails or ctx is done.
// Receive (not Channel) is used so that every (re)subscription is seen and
// triggers a catch-up from the log.
func (s *RedisSync) listen(ctx context.Context) {
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
			s.update(func() { s.subscribed = false })
			b.wait(ctx)
			continue
		}
		heard = time.Now()
		b.reset()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.update(func() { s.subscribed = true })
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		case *redis.Message:
			s.applyMessage(m.Payload)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// streamID is a parsed Redis stream id, ordered as Redis orders them.
type streamID struct{ ms, seq uint64 }

func parseStreamID(c string) (streamID, bool) {
	a, b, ok := strings.Cut(c, "-")
	if !ok {
		return streamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return streamID{ms, seq}, err1 == nil && err2 == nil
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}
