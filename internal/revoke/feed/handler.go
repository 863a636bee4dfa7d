// Package feed serves the revocation feed (GET /v1/revocations) to
// validators over Server-Sent Events, fanning each event out once to every
// stream; the wire format is package feedwire's.
package feed

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/bearer"
	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
)

// Config configures the feed handler. The zero value is usable.
type Config struct {
	// Heartbeat is how often a stream re-reads the source and sends a sync
	// event. Validators measure staleness by it. Default 5s.
	Heartbeat time.Duration
	// MaxStreams bounds concurrent streams; beyond it the handler answers
	// 503 with Retry-After. Default 10000.
	MaxStreams int
	// MaxStreamsPerClient bounds concurrent streams from one client address
	// (as ClientAddr reports it); beyond it the handler answers 429 with
	// Retry-After. The default, 1000, lets a fleet of validators share
	// one NAT address.
	MaxStreamsPerClient int
	// ClientAddr returns the address a request's streams are counted
	// under. Default: the host of the request's RemoteAddr.
	ClientAddr func(*http.Request) string
	// Token, when set, is the feed credential: every request must carry
	// "Authorization: Bearer <Token>" or is answered 401. It is compared
	// in constant time.
	Token string
	// WriteTimeout bounds each write to a stream (a snapshot is one write),
	// so a client that stops reading is dropped: a write gets between 3/4
	// of it and all of it, as the deadline is moved at most every quarter
	// of it. It replaces the server's WriteTimeout for streams. Default 1m.
	WriteTimeout time.Duration
	// Logger receives source failures. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultHeartbeat  = 5 * time.Second
	DefaultMaxStreams = 10000
	// DefaultMaxStreamsPerClient fits a fleet of validators behind one
	// NAT address.
	DefaultMaxStreamsPerClient = 1000
	DefaultWriteTimeout        = time.Minute
)

// feedBatch is how many events one Since call asks for.
const feedBatch = 1000

// feedRetryAfter is the Retry-After (seconds) of a 503.
const feedRetryAfter = "2"

// Handler serves the revocation feed, GET /v1/revocations; see the
// protocol description in package feedwire. It is safe for concurrent use.
type Handler struct {
	src     revoke.Source
	token   [sha256.Size]byte // SHA-256 of cfg.Token; compared in constant time
	cfg     Config
	log     *slog.Logger
	clients atomic.Int64

	addrMu sync.Mutex
	byAddr map[string]int // open streams per client address

	fan     *feedFanout // reads the source once per change for every stream
	opening sync.Pool   // 32 KiB write buffers lent to streams' openings
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the feed handler over src. Streams end when the
// request's context is done: the server must cancel it at shutdown (for
// net/http, set http.Server.BaseContext to a context cancelled before
// Shutdown), because Shutdown waits for active requests.
func NewHandler(src revoke.Source, cfg Config) (*Handler, error) {
	if src == nil {
		return nil, errors.New("feed: NewHandler: nil Source")
	}
	if cfg.Heartbeat < 0 || cfg.MaxStreams < 0 || cfg.MaxStreamsPerClient < 0 || cfg.WriteTimeout < 0 {
		return nil, errors.New("feed: NewHandler: negative setting")
	}
	if cfg.Token != "" && !bearer.Valid(cfg.Token) {
		return nil, ErrTokenCharset
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.MaxStreamsPerClient == 0 {
		cfg.MaxStreamsPerClient = DefaultMaxStreamsPerClient
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = remoteHost
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{src: src, cfg: cfg, log: cfg.Logger, byAddr: make(map[string]int)}
	h.fan = newFeedFanout(src, cfg.Heartbeat, cfg.Logger)
	h.opening.New = func() any { return bufio.NewWriterSize(nil, 32<<10) }
	if cfg.Token != "" {
		h.token = sha256.Sum256([]byte(cfg.Token))
	}
	return h, nil
}

// Clients returns the number of open streams.
func (h *Handler) Clients() int { return int(h.clients.Load()) }

// ServeHTTP serves one feed request.
//
// Only a stream, once admitted, lifts the connection's read deadline (see
// serveStream): every other answer, and every refusal, leaves the server's
// ReadTimeout in force, so a request that declares a body and never sends
// it is closed by the server instead of holding the connection.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="revocation feed"`)
		writeFeedError(w, http.StatusUnauthorized, UnauthorizedMessage)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeFeedError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !acceptsEventStream(r.Header.Values("Accept")) {
		h.serveSnapshotJSON(w, r)
		return
	}
	if n := h.clients.Add(1); n > int64(h.cfg.MaxStreams) {
		h.clients.Add(-1)
		w.Header().Set("Retry-After", feedRetryAfter)
		writeFeedError(w, http.StatusServiceUnavailable, "too many feed clients")
		return
	}
	defer h.clients.Add(-1)
	addr := h.cfg.ClientAddr(r)
	if !h.admitAddr(addr) {
		w.Header().Set("Retry-After", feedRetryAfter)
		writeFeedError(w, http.StatusTooManyRequests, "too many feed streams from this client address")
		return
	}
	defer h.releaseAddr(addr)
	h.serveStream(w, r)
}

// FeedUnauthorizedMessage is the error of a feed request without the feed
// token, when one is configured.
const UnauthorizedMessage = "the revocation feed requires its feed token: send Authorization: Bearer <FEED_TOKEN> (session.Config.FeedToken in a validator)"

// ErrTokenCharset: the feed token has characters a bearer token cannot
// carry, so no request could ever present it.
var ErrTokenCharset = errors.New("feed: the feed token must be letters, digits and -._~+/ (then optional = padding), the characters of a bearer token (RFC 6750); `openssl rand -base64 32` makes one")

// authorized reports whether r carries the feed token, or none is needed.
// Both sides are hashed first, so the comparison takes the same time
// whatever the presented token's length or content.
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.Token == "" {
		return true
	}
	got := sha256.Sum256([]byte(bearer.Token(r.Header.Get("Authorization"))))
	return subtle.ConstantTimeCompare(got[:], h.token[:]) == 1
}

// admitAddr counts one more stream from addr, unless it already has
// MaxStreamsPerClient.
func (h *Handler) admitAddr(addr string) bool {
	h.addrMu.Lock()
	defer h.addrMu.Unlock()
	if h.byAddr[addr] >= h.cfg.MaxStreamsPerClient {
		return false
	}
	h.byAddr[addr]++
	return true
}

func (h *Handler) releaseAddr(addr string) {
	h.addrMu.Lock()
	defer h.addrMu.Unlock()
	if h.byAddr[addr]--; h.byAddr[addr] <= 0 {
		delete(h.byAddr, addr)
	}
}

// remoteHost is the default ClientAddr: the peer's IP address.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) serveSnapshotJSON(w http.ResponseWriter, r *http.Request) {
	snap, err := h.src.Snapshot(r.Context())
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	if snap.Entries == nil {
		snap.Entries = []revoke.Entry{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if enc.Encode(snap) == nil {
		_ = bw.Flush() // a failed write means the client went away
	}
}

// unavailable answers 503 for a failing source, before anything was written.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client is gone
	}
	h.log.Error("revoke: feed: source unavailable", "err", err)
	w.Header().Set("Retry-After", feedRetryAfter)
	writeFeedError(w, http.StatusServiceUnavailable, "revocation source unavailable")
}

// feedStream is one client's stream.
type feedStream struct {
	h      *Handler
	rc     *http.ResponseController
	sse    feedwire.Writer
	cursor string
	// batched: the client asked (feedwire.BatchParam) for consecutive
	// events as one revocations event.
	batched bool
	dirty   bool      // written since the last flush
	rearm   time.Time // when the write deadline in force leaves under 3/4 of WriteTimeout
}

func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sub, unsubscribe := h.fan.subscribe() // before reading: no event is missed
	defer unsubscribe()

	cursor := r.Header.Get(feedwire.HeaderLastEventID)
	if cursor == "" {
		cursor = r.URL.Query().Get(feedwire.CursorParam)
	}
	var (
		backlog []revoke.Event
		snap    *revoke.Snapshot
		err     error
	)
	if cursor != "" {
		backlog, err = h.src.Since(ctx, cursor, feedBatch)
		if err != nil && !errors.Is(err, revoke.ErrCursorExpired) && ctx.Err() == nil {
			h.log.Warn("revoke: feed: cannot resume, sending a snapshot", "err", err)
		}
	}
	if cursor == "" || err != nil {
		s, err := h.src.Snapshot(ctx)
		if err != nil {
			h.unavailable(w, r, err)
			return
		}
		snap, cursor = &s, s.Cursor
	}

	// The stream is admitted and about to be served: only now may it
	// outlive the server's ReadTimeout (net/http cancels a request's
	// context when the connection's read deadline passes). Unsupported:
	// keep the server's.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", feedwire.ContentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The opening (a snapshot may be megabytes) is written through a large
	// buffer borrowed for it; the live stream, one small frame at a time,
	// through a small one of its own, so 10,000 idle streams do not each
	// hold 32 KiB.
	big := h.opening.Get().(*bufio.Writer)
	big.Reset(w)
	st := &feedStream{
		h:       h,
		rc:      rc,
		sse:     feedwire.Writer{W: big},
		cursor:  cursor,
		batched: r.URL.Query().Get(feedwire.BatchParam) == "1",
	}
	err = st.start(ctx, snap, backlog)
	big.Reset(nil)
	h.opening.Put(big)
	if err != nil {
		st.ended(ctx, err)
		return
	}
	st.sse.W = bufio.NewWriterSize(w, liveBufferSize)
	h.fan.hint(st.cursor)
	st.ended(ctx, st.loop(ctx, sub))
}

// liveBufferSize is the write buffer a stream keeps once open: a few
// revocation frames; larger writes bypass it.
const liveBufferSize = 1 << 10

// start writes the opening of the stream: the snapshot, or the backlog after
// the client's cursor followed by a sync event.
func (st *feedStream) start(ctx context.Context, snap *revoke.Snapshot, backlog []revoke.Event) error {
	st.armDeadline() // a snapshot is written in many chunks before its flush
	if err := st.sse.WriteRetry(feedwire.RetryMillis); err != nil {
		return err
	}
	if snap != nil {
		if snap.Entries == nil {
			snap.Entries = []revoke.Entry{}
		}
		if err := st.sse.WriteEvent(feedwire.EventSnapshot, snap.Cursor, snap); err != nil {
			return err
		}
		return st.flush()
	}
	if err := st.writeEvents(backlog); err != nil {
		return err
	}
	if len(backlog) == feedBatch {
		if err := st.drain(ctx); err != nil {
			return err
		}
	}
	return st.sync()
}

// loop sends the fan-out's batches and a sync event every heartbeat, until
// the client or the server goes, or the stream falls behind. The batches
// already queued when one arrives are written with it and flushed once: a
// burst of events costs a stream one write, not one per event.
func (st *feedStream) loop(ctx context.Context, sub *feedSub) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.gone:
			return errSlowStream
		case b := <-sub.ch:
			if err := st.apply(ctx, b); err != nil {
				return err
			}
			for queued := len(sub.ch); queued > 0; queued-- { // only this goroutine receives
				if err := st.apply(ctx, <-sub.ch); err != nil {
					return err
				}
			}
			if !st.dirty {
				continue // nothing new for this stream
			}
			if err := st.flush(); err != nil {
				return err
			}
		}
	}
}

// apply writes what a batch holds beyond the stream's cursor, leaving the
// flush to loop. A batch that does not continue from the stream's position
// (the stream is just starting, or the fan-out lost its place) makes the
// stream read the source itself, which is always correct, only slower.
func (st *feedStream) apply(ctx context.Context, b *fanBatch) error {
	if b.tick {
		// The pump re-read the source up to b.prev just now, so "sync" is
		// true even if a wake-up was missed.
		if b.prev != st.cursor {
			if err := st.drain(ctx); err != nil {
				return err
			}
			st.h.fan.hint(st.cursor)
		}
		return st.writeSync()
	}
	from := -1
	if b.prev != "" && b.prev == st.cursor {
		from = 0
	} else {
		for i, c := range b.cursors {
			if c == st.cursor {
				from = i + 1
				break
			}
		}
	}
	if from < 0 {
		if err := st.drain(ctx); err != nil {
			return err
		}
		st.h.fan.hint(st.cursor)
		return nil
	}
	if from == len(b.frames) {
		return nil
	}
	if st.batched && len(b.frames)-from > 1 {
		frame, err := b.batchFrame(from)
		if err != nil {
			return err
		}
		if _, err := st.sse.W.Write(frame); err != nil {
			return err
		}
		st.cursor, st.dirty = b.cursors[len(b.cursors)-1], true
		return nil
	}
	for i := from; i < len(b.frames); i++ {
		if _, err := st.sse.W.Write(b.frames[i]); err != nil {
			return err
		}
	}
	st.cursor, st.dirty = b.cursors[len(b.cursors)-1], true
	return nil
}

// drain sends every event after the stream's cursor.
func (st *feedStream) drain(ctx context.Context) error {
	for {
		evs, err := st.h.src.Since(ctx, st.cursor, feedBatch)
		if err != nil {
			// Includes ErrCursorExpired (the log was trimmed past a slow
			// client): ending the stream makes the client resume, and
			// the resume falls back to a snapshot.
			return err
		}
		if err := st.writeEvents(evs); err != nil {
			return err
		}
		if len(evs) < feedBatch {
			return nil
		}
	}
}

func (st *feedStream) writeEvents(evs []revoke.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if st.batched && len(evs) > 1 {
		last := evs[len(evs)-1].Cursor
		if err := st.sse.WriteEvent(feedwire.EventRevocations, last, feedwire.BatchMessage{Cursor: last, Events: evs}); err != nil {
			return err
		}
		st.cursor = last
		return st.flush()
	}
	for _, ev := range evs {
		if err := st.sse.WriteEvent(feedwire.EventRevocation, ev.Cursor, ev); err != nil {
			return err
		}
		st.cursor = ev.Cursor
	}
	return st.flush()
}

func (st *feedStream) sync() error {
	if err := st.writeSync(); err != nil {
		return err
	}
	return st.flush()
}

// writeSync writes a sync event, leaving the flush to the caller.
func (st *feedStream) writeSync() error {
	st.dirty = true
	return st.sse.WriteEvent(feedwire.EventSync, "", feedwire.SyncMessage{Cursor: st.cursor})
}

// flush pushes buffered bytes to the client, under a write deadline (see
// armDeadline).
func (st *feedStream) flush() error {
	st.armDeadline()
	if err := st.sse.W.Flush(); err != nil {
		return err
	}
	st.dirty = false
	return st.rc.Flush()
}

// armDeadline gives the next writes between 3/4 of WriteTimeout and all of
// it to complete. It moves the connection's deadline only once a quarter of
// WriteTimeout has passed since it last did, not on every flush: setting a
// deadline takes the poller's lock, and a flush per stream per event would
// pay it 10,000 times for one event at 10,000 streams.
func (st *feedStream) armDeadline() {
	now := time.Now()
	if now.Before(st.rearm) {
		return
	}
	_ = st.rc.SetWriteDeadline(now.Add(st.h.cfg.WriteTimeout)) // unsupported: keep the server's
	st.rearm = now.Add(st.h.cfg.WriteTimeout / 4)
}

// ended logs why a stream ended, unless the client or server simply went.
func (st *feedStream) ended(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		st.h.log.Debug("revoke: feed: stream ended", "err", err)
	}
}

// acceptsEventStream reports whether an Accept header lists
// text/event-stream.
func acceptsEventStream(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && mt == feedwire.ContentType {
				return true
			}
		}
	}
	return false
}

// writeFeedError writes a small JSON error body.
func writeFeedError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"error":` + strconv.Quote(msg) + "}\n"))
}
