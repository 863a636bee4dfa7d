package feed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
)

// feedSubBuffer is how many batches a stream may have queued; a stream
// that falls further behind is dropped (errSlowStream) and its client
// resumes from its cursor.
const feedSubBuffer = 64

// errSlowStream ends a stream that did not keep up with the fan-out.
var errSlowStream = errors.New("revoke: feed: stream fell behind; the client resumes from its cursor")

// fanBatch is what the fan-out hands every stream: consecutive events
// after prev, each already encoded as an SSE frame, or (tick) a heartbeat
// taken after the source was re-read up to prev.
type fanBatch struct {
	prev    string   // the cursor the batch follows ("" unknown: streams read the source themselves)
	cursors []string // the cursor of each event
	frames  [][]byte // the SSE frame of each event, shared by every stream: never modified
	tick    bool     // a heartbeat: prev is current as of now

	events []revoke.Event // the events, for streams that take them as one frame
	once   sync.Once      // encodes whole, once, for every such stream
	whole  []byte         // the revocations frame of all events
	err    error          // why whole could not be encoded
}

// batchFrame returns one revocations frame of the events from index from
// on: the shared one when from is 0, else one encoded for the caller.
func (b *fanBatch) batchFrame(from int) ([]byte, error) {
	if from > 0 {
		return encodeBatchFrame(b.events[from:])
	}
	b.once.Do(func() { b.whole, b.err = encodeBatchFrame(b.events) })
	return b.whole, b.err
}

// encodeBatchFrame encodes evs as one revocations event.
func encodeBatchFrame(evs []revoke.Event) ([]byte, error) {
	var buf bytes.Buffer
	w := feedwire.Writer{W: bufio.NewWriter(&buf)}
	last := evs[len(evs)-1].Cursor
	if err := w.WriteEvent(feedwire.EventRevocations, last, feedwire.BatchMessage{Cursor: last, Events: evs}); err != nil {
		return nil, err
	}
	if err := w.W.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// feedSub is one stream's subscription to the fan-out.
type feedSub struct {
	ch   chan *fanBatch
	gone chan struct{} // closed when the fan-out dropped the stream
}

// feedFanout reads the source once per change for every stream: one
// goroutine (the pump) follows the source from its own cursor, encodes each
// new event once and hands the batch to every stream without blocking. A
// stream whose buffer is full is dropped rather than waited for, so one
// slow client never delays the others, and never silently loses an event:
// its stream ends and its client resumes from its last cursor.
//
// The pump runs while at least one stream is subscribed. Safe for
// concurrent use.
type feedFanout struct {
	src       revoke.Source
	heartbeat time.Duration
	log       *slog.Logger

	mu     sync.Mutex
	subs   map[*feedSub]struct{}
	pump   *feedPump // nil when no stream is subscribed
	cursor string    // the pump's position; "" until a stream hints one
}

// feedPump is one run of the pump goroutine.
type feedPump struct {
	stop context.CancelFunc
	kick chan struct{} // a cursor hint arrived
}

func newFeedFanout(src revoke.Source, heartbeat time.Duration, log *slog.Logger) *feedFanout {
	return &feedFanout{src: src, heartbeat: heartbeat, log: log, subs: make(map[*feedSub]struct{})}
}

// subscribe registers a stream; batches made from now on reach it. The
// returned function ends the subscription.
func (f *feedFanout) subscribe() (*feedSub, func()) {
	s := &feedSub{ch: make(chan *fanBatch, feedSubBuffer), gone: make(chan struct{})}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	if f.pump == nil {
		ctx, stop := context.WithCancel(context.Background())
		p := &feedPump{stop: stop, kick: make(chan struct{}, 1)}
		f.pump, f.cursor = p, ""
		go f.run(ctx, p)
	}
	f.mu.Unlock()
	return s, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[s]; !ok {
			return
		}
		delete(f.subs, s)
		if len(f.subs) == 0 && f.pump != nil {
			f.pump.stop()
			f.pump = nil
		}
	}
}

// hint gives the pump a cursor to follow from when it has none: a stream's
// position right after it read the source.
func (f *feedFanout) hint(cursor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cursor != "" || cursor == "" || f.pump == nil {
		return
	}
	f.cursor = cursor
	select {
	case f.pump.kick <- struct{}{}:
	default:
	}
}

// run is the pump: it follows the source until ctx ends.
func (f *feedFanout) run(ctx context.Context, p *feedPump) {
	wake, unsubscribe := f.src.Subscribe()
	defer unsubscribe()
	hb := time.NewTicker(f.heartbeat)
	defer hb.Stop()
	for {
		tick := false
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-p.kick:
		case <-hb.C:
			tick = true
		}
		cursor := f.position(p)
		if cursor != "" {
			cursor = f.drain(ctx, p, cursor)
		}
		if tick {
			f.broadcast(p, &fanBatch{prev: cursor, tick: true})
		}
	}
}

// position returns the pump's cursor.
func (f *feedFanout) position(p *feedPump) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor
}

// drain reads every event after cursor, encodes each once, hands the
// batches to every stream and returns the new cursor ("" after a failure:
// streams then read the source themselves, and the next hint resets it).
func (f *feedFanout) drain(ctx context.Context, p *feedPump, cursor string) string {
	for {
		evs, err := f.src.Since(ctx, cursor, feedBatch)
		var b *fanBatch
		if err == nil {
			b, err = encodeBatch(cursor, evs)
		}
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("revoke: feed: fan-out cannot read the source; streams read it themselves", "err", err)
			}
			f.mu.Lock()
			if f.pump == p {
				f.cursor = ""
			}
			f.mu.Unlock()
			f.broadcast(p, &fanBatch{prev: ""})
			return ""
		}
		if len(evs) == 0 {
			return cursor
		}
		cursor = evs[len(evs)-1].Cursor
		f.mu.Lock()
		if f.pump == p {
			f.cursor = cursor
		}
		f.mu.Unlock()
		f.broadcast(p, b)
		if len(evs) < feedBatch {
			return cursor
		}
	}
}

// encodeBatch encodes evs, the events after prev, once for every stream.
func encodeBatch(prev string, evs []revoke.Event) (*fanBatch, error) {
	b := &fanBatch{prev: prev, cursors: make([]string, len(evs)), frames: make([][]byte, len(evs)), events: evs}
	var buf bytes.Buffer
	w := feedwire.Writer{W: bufio.NewWriter(&buf)}
	for i, ev := range evs {
		buf.Reset()
		if err := w.WriteEvent(feedwire.EventRevocation, ev.Cursor, ev); err != nil {
			return nil, err
		}
		if err := w.W.Flush(); err != nil {
			return nil, err
		}
		b.cursors[i], b.frames[i] = ev.Cursor, bytes.Clone(buf.Bytes())
	}
	return b, nil
}

// broadcast hands b to every stream without blocking, dropping a stream
// whose buffer is full.
func (f *feedFanout) broadcast(p *feedPump, b *fanBatch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pump != p {
		return // an old pump that is stopping
	}
	for s := range f.subs {
		select {
		case s.ch <- b:
		default:
			delete(f.subs, s)
			close(s.gone)
		}
	}
	if len(f.subs) == 0 {
		f.pump.stop()
		f.pump = nil
	}
}
