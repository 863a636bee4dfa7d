package redissync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/redis/go-redis/v9"
)

// ReaderConfig configures a Reader. The zero value is usable.
type ReaderConfig struct {
	// Prefix is the key prefix the auth service writes under (default
	// DefaultPrefix).
	Prefix string
	// Channel is the pub/sub channel events are published on (default
	// revoke.Channel).
	Channel string
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

// Reader reads the revocation state the auth service keeps in Redis: the
// layout marker, a snapshot of the live entries, the log after a cursor,
// and change notifications. It is a revoke.Source, and the read side
// shared by Sync and the writer (package redisstore). Safe for concurrent
// use.
type Reader struct {
	client  redis.UniversalClient
	keys    Keys
	channel string
	now     func() time.Time
	log     *slog.Logger
	fan     fanout
}

var _ revoke.Source = (*Reader)(nil)

// NewReader returns a reader using client, which it does not close.
func NewReader(client redis.UniversalClient, cfg ReaderConfig) (*Reader, error) {
	if client == nil {
		return nil, errors.New("redissync: NewReader: nil client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Channel == "" {
		cfg.Channel = revoke.Channel
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Reader{client: client, keys: NewKeys(cfg.Prefix), channel: cfg.Channel, now: cfg.Clock, log: cfg.Logger}
	r.fan = fanout{client: client, channel: cfg.Channel, log: cfg.Logger}
	return r, nil
}

// ErrLayoutMissing is returned by readers when Redis holds no layout
// marker under the prefix: no auth service writes there (check REDIS_PREFIX
// and REDIS_DB), or Redis lost its data and the auth service has not
// re-seeded it yet.
var ErrLayoutMissing = errors.New("revoke: no revocation layout marker in Redis")

// Layout reads the layout marker; it returns ErrLayoutMissing when there
// is none.
func (s *Reader) Layout(ctx context.Context) (revoke.Layout, error) {
	h, err := s.client.HGetAll(ctx, s.keys.Layout()).Result()
	if err != nil {
		return revoke.Layout{}, fmt.Errorf("revoke: read layout marker: %w", err)
	}
	l, ok := parseLayout(h)
	if !ok {
		return revoke.Layout{}, ErrLayoutMissing
	}
	return l, nil
}

// snapshotBatch is the HSCAN COUNT hint used while loading a snapshot. Each
// HSCAN keeps Redis busy for a few milliseconds; larger batches save round
// trips but delay other clients' commands for longer.
const snapshotBatch = 10_000

// Snapshot returns the live entries and the cursor they are current at. The
// cursor is read before the entries, so every event up to it is included;
// events after it may be included too, which is harmless.
func (s *Reader) Snapshot(ctx context.Context) (revoke.Snapshot, error) {
	entries := []revoke.Entry{} // an empty snapshot still encodes as []
	cursor, layout, err := s.scan(ctx, func(b scanBatch) {
		if cap(entries) == 0 && len(b.entries) > 0 {
			est := b.estimate(len(b.entries))
			entries = make([]revoke.Entry, 0, est+est/16) // spare: growing copies it all
		}
		entries = append(entries, b.entries...)
	})
	if err != nil {
		return revoke.Snapshot{}, err
	}
	return revoke.Snapshot{Cursor: cursor, Layout: &layout, Entries: entries}, nil
}

// SnapshotFunc is Snapshot streamed: it calls fn with the live entries one
// batch at a time, as they arrive, and returns the cursor they are current
// at (read before the entries, as for Snapshot). fn runs on the calling
// goroutine, one batch after another; the batch's backing array is reused
// once fn returns, so fn must copy what it keeps. On error fn may already
// have seen some entries: they are genuine revocations, but the state is
// complete only once SnapshotFunc returns nil.
func (s *Reader) SnapshotFunc(ctx context.Context, fn func(batch []revoke.Entry)) (string, error) {
	cursor, _, err := s.scan(ctx, func(b scanBatch) { fn(b.entries) })
	return cursor, err
}

// scanBatch is one decoded HSCAN page.
type scanBatch struct {
	entries []revoke.Entry // the page's live, well-formed entries; reused afterwards
	fields  int            // hash fields on the page
	total   int64          // HLEN when the scan began
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
// ErrLayoutMissing when there is none, or revoke.ErrUnsupported for a newer
// layout: the entries would not be the auth service's complete state.
func (s *Reader) scan(ctx context.Context, fn func(scanBatch)) (string, revoke.Layout, error) {
	// One round trip, executed in order: the position is read first.
	var last *redis.XMessageSliceCmd
	var hlen *redis.IntCmd
	var marker *redis.MapStringStringCmd
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		marker = p.HGetAll(ctx, s.keys.Layout())
		last = p.XRevRangeN(ctx, s.keys.Log(), "+", "-", 1)
		hlen = p.HLen(ctx, s.keys.Entries())
		return nil
	}); err != nil {
		return "", revoke.Layout{}, fmt.Errorf("revoke: read log position: %w", err)
	}
	layout, ok := parseLayout(marker.Val())
	if !ok {
		return "", revoke.Layout{}, ErrLayoutMissing
	}
	if layout.V > revoke.ProtocolVersion {
		return "", layout, layout.Check("", "")
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
	var buf []revoke.Entry
	for page := range pages {
		if ctx.Err() != nil {
			break // fn may have cancelled ctx: it gets no further batch
		}
		if page.err != nil {
			return "", revoke.Layout{}, fmt.Errorf("revoke: scan revocations: %w", page.err)
		}
		if buf == nil {
			buf = make([]revoke.Entry, 0, len(page.kv)/2)
		}
		buf = buf[:0]
		for i := 0; i+1 < len(page.kv); i += 2 {
			e, err := decodeStored(page.kv[i], page.kv[i+1])
			if err != nil && !errors.Is(err, revoke.ErrUnsupported) {
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
	return "", revoke.Layout{}, fmt.Errorf("revoke: scan revocations: %w", context.Cause(ctx))
}

// scanPages sends every HSCAN page of the entries hash to pages, each as
// soon as it arrives, and closes pages when the scan ends, fails, or ctx is
// done.
func (s *Reader) scanPages(ctx context.Context, pages chan<- scanPage) {
	defer close(pages)
	var pos uint64
	for {
		kv, next, err := s.client.HScan(ctx, s.keys.Entries(), pos, "", snapshotBatch).Result()
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
// revoke.ErrCursorExpired when the log was trimmed past the cursor, when the
// cursor was never in this log (Redis lost data or failed over), and for a
// malformed cursor: in each case the reader must load a snapshot. It
// returns ErrLayoutMissing when Redis holds no layout marker.
func (s *Reader) Since(ctx context.Context, cursor string, limit int) ([]revoke.Event, error) {
	events, _, err := s.since(ctx, cursor, limit)
	return events, err
}

// since is Since that also returns the epoch of the layout it read from.
func (s *Reader) since(ctx context.Context, cursor string, limit int) ([]revoke.Event, string, error) {
	id, epoch, _ := strings.Cut(cursor, epochSep)
	if _, ok := ParseStreamID(id); !ok || (epoch != "" && id != zeroCursor) {
		return nil, "", revoke.ErrCursorExpired
	}
	if limit <= 0 {
		limit = 1000
	}
	res, err := sinceScript.Run(ctx, s.client, []string{s.keys.Log(), s.keys.Layout()}, id, limit, epoch).Slice()
	if err != nil {
		return nil, "", fmt.Errorf("revoke: read log: %w", err)
	}
	if len(res) == 0 || res[0] == int64(2) {
		return nil, "", ErrLayoutMissing
	}
	epoch, _ = res[1].(string)
	if res[0] != int64(1) {
		return nil, epoch, revoke.ErrCursorExpired
	}
	if len(res) < 3 {
		return nil, epoch, nil
	}
	raw, _ := res[2].([]any)
	events := make([]revoke.Event, 0, len(raw))
	for _, r := range raw {
		m, ok := xmessage(r)
		if !ok {
			return nil, "", errors.New("revoke: read log: unexpected reply")
		}
		ev, err := decodeStreamEvent(m)
		if err != nil && !errors.Is(err, revoke.ErrUnsupported) {
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
// re-established (events may have been missed meanwhile). The reader keeps
// one subscription for all its subscribers, open while any exists.
func (s *Reader) Subscribe() (<-chan struct{}, func()) { return s.fan.subscribe() }

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
