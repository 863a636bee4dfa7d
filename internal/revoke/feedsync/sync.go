// Package feedsync keeps a validator's revoke.Set current from the auth
// service's revocation feed (the client of package feed).
package feedsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
)

// Config configures a Sync.
type Config struct {
	// URL is the full feed URL, e.g. http://localhost:8080/v1/revocations.
	// Required; http or https.
	URL string
	// AlternateURLs are the feeds of other replicas of the same auth
	// service (one database, so one cursor space). After a connection ends
	// or fails the sync reconnects to the next URL in turn, resuming from
	// its cursor: a replica that dies or hangs costs one reconnection, not
	// the revocations made through the others meanwhile.
	AlternateURLs []string
	// HTTPClient makes the requests. It must not have a Timeout (streams
	// are long-lived; IdleTimeout detects dead ones). Default: a client
	// over a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// IdleTimeout drops a stream that delivered nothing (not even a
	// heartbeat) for this long, and reconnects. It must exceed the
	// server's heartbeat. Default 20s.
	IdleTimeout time.Duration
	// MaxBackoff caps the jittered delay between reconnection attempts.
	// Default 3s.
	MaxBackoff time.Duration
	// MaxEventBytes bounds one event (a snapshot is one event), so a hostile
	// server cannot exhaust memory. Default 256 MiB.
	MaxEventBytes int
	// Token is the feed credential the auth service requires when it has
	// FEED_TOKEN set; it is sent as "Authorization: Bearer <Token>".
	Token string
	// Issuer and Audience, when set, must match those the auth service
	// names in its snapshots' layout; otherwise the sync is not Ready and
	// Status.Problem says why (every token would fail verification).
	Issuer, Audience string
	// PruneInterval is how often expired entries are dropped from the set
	// (checked as events arrive). Default 1m.
	PruneInterval time.Duration
	// Clock returns the current time: Status.LastSync and pruning.
	// Default time.Now.
	Clock func() time.Time
	// Logger receives connection failures. Default slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called after each revocation event has been
	// applied to the set, from Run's goroutine. It must not block.
	OnEvent func(revoke.Event)
}

// Defaults of Config.
const (
	DefaultIdleTimeout   = 20 * time.Second
	DefaultMaxBackoff    = 3 * time.Second
	DefaultMaxEventBytes = 256 << 20
	DefaultPruneInterval = time.Minute
)

// feedMinBackoff is the first reconnection delay.
const feedMinBackoff = 50 * time.Millisecond

// feedMaxRetryAfter caps how long a server's Retry-After can hold us off.
const feedMaxRetryAfter = 30 * time.Second

// Sync keeps a Set in sync with an auth service's revocation feed: it
// loads a snapshot, applies every event after it, and after any disconnect
// resumes from the last applied cursor, so nothing is missed while the feed
// still has it and a fresh snapshot is loaded when it does not.
//
// Run owns the only goroutine. Status is safe for concurrent use.
type Sync struct {
	set  *revoke.Set
	cfg  Config
	urls []string // URL, then AlternateURLs
	log  *slog.Logger

	ready, connected       atomic.Bool
	lastSync               atomic.Pointer[time.Time] // nil: never; keeps the clock's monotonic reading
	cursor                 atomic.Pointer[string]
	eventsApplied, resyncs atomic.Uint64
	problem                atomic.Pointer[string]
	tokenRefused           atomic.Bool // problem is the feed token's
	running                sync.Mutex

	// Run's goroutine only:
	snapshots uint64    // snapshots loaded
	nextPrune time.Time // when the set is due for pruning
}

// New returns a Sync filling set from cfg.URL.
func New(set *revoke.Set, cfg Config) (*Sync, error) {
	if set == nil {
		return nil, errors.New("feedsync: New: nil Set")
	}
	var urls []string
	for _, raw := range append([]string{cfg.URL}, cfg.AlternateURLs...) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("feedsync: New: URL %q is not an http(s) URL", raw)
		}
		urls = append(urls, u.String())
	}
	if cfg.IdleTimeout < 0 || cfg.MaxBackoff < 0 || cfg.MaxEventBytes < 0 || cfg.PruneInterval < 0 {
		return nil, errors.New("feedsync: New: negative setting")
	}
	if cfg.HTTPClient == nil {
		tr, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return nil, errors.New("feedsync: New: no HTTPClient and http.DefaultTransport is replaced")
		}
		cfg.HTTPClient = &http.Client{Transport: tr.Clone()}
	}
	if cfg.HTTPClient.Timeout != 0 {
		return nil, errors.New("feedsync: New: HTTPClient must not have a Timeout (the feed is a long-lived stream)")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxEventBytes == 0 {
		cfg.MaxEventBytes = DefaultMaxEventBytes
	}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = DefaultPruneInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Sync{set: set, cfg: cfg, urls: urls, log: cfg.Logger}
	f.cursor.Store(new(string))
	f.problem.Store(new(string))
	return f, nil
}

// Status reports how current the set is. It takes no lock.
func (f *Sync) Status() revoke.Status {
	st := revoke.Status{
		Ready:         f.ready.Load(),
		Connected:     f.connected.Load(),
		Cursor:        *f.cursor.Load(),
		EventsApplied: f.eventsApplied.Load(),
		Resyncs:       f.resyncs.Load(),
		Problem:       *f.problem.Load(),
	}
	if t := f.lastSync.Load(); t != nil {
		st.LastSync = *t
	}
	return st
}

// Run follows the feed until ctx is done, reconnecting after any failure,
// to the next of URL and AlternateURLs at once and with jittered
// exponential backoff once all were tried, then returns ctx.Err(). Only one Run
// may be active at a time; a concurrent call returns an error at once.
func (f *Sync) Run(ctx context.Context) error {
	if !f.running.TryLock() {
		return errors.New("feedsync: Sync.Run is already running")
	}
	defer f.running.Unlock()
	backoff := feedMinBackoff
	for i := 0; ; i++ {
		feedURL := f.urls[i%len(f.urls)]
		progressed, wait, err := f.connect(ctx, feedURL)
		f.connected.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progressed {
			backoff = feedMinBackoff
		}
		if err != nil {
			f.log.Warn("revoke: feed: disconnected", "url", feedURL, "err", err)
		}
		// The next replica is tried at once; the backoff applies once every
		// URL of the round has failed.
		if (i+1)%len(f.urls) != 0 && wait == 0 {
			continue
		}
		// Equal jitter: between half and all of the current step.
		d := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, f.cfg.MaxBackoff)
		if wait > d {
			d = wait
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// connect runs one connection: it returns whether any event was applied,
// how long the server asked us to wait (Retry-After), and why it ended.
func (f *Sync) connect(ctx context.Context, feedURL string) (progressed bool, wait time.Duration, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, withBatches(feedURL), nil)
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Accept", feedwire.ContentType)
	req.Header.Set("Cache-Control", "no-cache")
	if f.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+f.cfg.Token)
	}
	if c := *f.cursor.Load(); c != "" && f.ready.Load() {
		req.Header.Set(feedwire.HeaderLastEventID, c)
	}
	// The watchdog cancels the request when nothing arrives for IdleTimeout,
	// including while waiting for the response headers.
	errIdle := fmt.Errorf("revoke: feed: nothing received for %v", f.cfg.IdleTimeout)
	watchdog := time.AfterFunc(f.cfg.IdleTimeout, func() { cancel(errIdle) })
	defer watchdog.Stop()

	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, 0, causeOr(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		p := "the auth service refused the feed token (401): set the validator's FeedToken to the auth service's FEED_TOKEN"
		if f.cfg.Token == "" {
			p = "the auth service requires a feed token (401): set the validator's FeedToken to the auth service's FEED_TOKEN"
		}
		if *f.problem.Load() != p {
			f.log.Error("revoke: feed: "+p, "url", feedURL)
			f.problem.Store(&p)
			f.tokenRefused.Store(true)
		}
		return false, 0, errors.New("revoke: feed: " + p)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return false, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("revoke: feed: status %s", resp.Status)
	}
	if f.tokenRefused.Swap(false) {
		f.problem.Store(new(string))
	}
	f.connected.Store(true)
	body := &watchedReader{r: resp.Body, t: watchdog, d: f.cfg.IdleTimeout}
	dec := feedwire.NewReader(body, f.cfg.MaxEventBytes)
	for {
		ev, err := dec.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("revoke: feed: server closed the stream")
			}
			return progressed, 0, causeOr(ctx, err)
		}
		m, err := feedwire.Decode(ev)
		if err != nil {
			return progressed, 0, err
		}
		if f.apply(m, feedURL) {
			progressed = true
		}
	}
}

// apply updates the set and status with one message and reports whether it
// was a feed event (as opposed to an ignored unknown one).
func (f *Sync) apply(m feedwire.Message, feedURL string) bool {
	t := f.cfg.Clock()
	if t.After(f.nextPrune) {
		f.set.Prune(t)
		f.nextPrune = t.Add(f.cfg.PruneInterval)
	}
	now := &t
	switch m.Name {
	case feedwire.EventSnapshot:
		f.set.ApplyAll(m.Snapshot.Entries)
		if l := m.Snapshot.Layout; l != nil {
			if err := l.Check(f.cfg.Issuer, f.cfg.Audience); err != nil {
				// Not Ready, and no cursor: the next connection loads a
				// snapshot again and sees whether the mismatch is fixed.
				if p := strings.TrimPrefix(err.Error(), "revoke: "); *f.problem.Load() != p {
					f.log.Error("revoke: feed: "+p, "url", feedURL)
					f.problem.Store(&p)
				}
				f.connected.Store(false)
				return false
			}
		}
		f.problem.Store(new(string))
		f.snapshots++
		if f.snapshots > 1 {
			f.resyncs.Add(1)
		}
		f.cursor.Store(&m.Cursor)
		// LastSync before Ready: whoever sees Ready sees a LastSync.
		f.lastSync.Store(now)
		f.ready.Store(true)
	case feedwire.EventRevocation:
		if !f.set.Apply(m.Event.Entry) {
			// Malformed, or of a version or kind this version cannot
			// interpret: the Set remembers the latter and the validator
			// refuses every token while it is live. The feed goes on.
			f.log.Warn("revoke: feed: entry not applied", "cursor", m.Cursor, "kind", m.Event.Kind, "err", m.Event.Validate())
		}
		f.cursor.Store(&m.Cursor)
		f.eventsApplied.Add(1)
		if f.ready.Load() {
			f.lastSync.Store(now)
		}
		if f.cfg.OnEvent != nil {
			f.cfg.OnEvent(m.Event)
		}
	case feedwire.EventRevocations:
		entries := make([]revoke.Entry, len(m.Events))
		for i, ev := range m.Events {
			entries[i] = ev.Entry
		}
		if n := f.set.ApplyAll(entries); n < len(entries) {
			for _, ev := range m.Events {
				if err := ev.Validate(); err != nil {
					f.log.Warn("revoke: feed: entry not applied", "cursor", ev.Cursor, "kind", ev.Kind, "err", err)
				}
			}
		}
		f.cursor.Store(&m.Cursor)
		f.eventsApplied.Add(uint64(len(m.Events)))
		if f.ready.Load() {
			f.lastSync.Store(now)
		}
		if f.cfg.OnEvent != nil {
			for _, ev := range m.Events {
				f.cfg.OnEvent(ev)
			}
		}
	case feedwire.EventSync:
		// The cursor is not taken from sync events: only applying an event
		// moves it, so a faulty server cannot make us skip one.
		if f.ready.Load() {
			f.lastSync.Store(now)
		}
	default:
		return false
	}
	return true
}

// withBatches adds feedwire.BatchParam to a feed URL: this client takes
// consecutive events as one revocations event.
func withBatches(feedURL string) string {
	u, err := url.Parse(feedURL)
	if err != nil {
		return feedURL // New checked it; the request reports any problem
	}
	q := u.Query()
	q.Set(feedwire.BatchParam, "1")
	u.RawQuery = q.Encode()
	return u.String()
}

// watchedReader pushes the idle watchdog back on every read that returns
// data.
type watchedReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.t.Reset(w.d)
	}
	return n, err
}

// causeOr returns why ctx was cancelled (the idle watchdog) if it was, or
// err.
func causeOr(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}

// retryAfter parses a Retry-After header in seconds, capped.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(v)
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, feedMaxRetryAfter)
}
