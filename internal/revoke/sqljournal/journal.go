// Package sqljournal is the revocation Source and Revoker of the embedded
// mode: revocations recorded in the database journal (internal/store) and
// announced in-process to the feed.
package sqljournal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// PollInterval is how often Run reads the journal for entries other
	// replicas appended, so that this replica's feed clients get them.
	// Entries appended through this store are announced immediately.
	// Default 1s.
	PollInterval time.Duration
	// PruneInterval is how often Run deletes expired entries. Default 1m.
	PruneInterval time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Logger receives poll and prune failures. Default slog.Default().
	Logger *slog.Logger
	// Issuer and Audience are named in every snapshot's layout, so feed
	// clients configured otherwise report the mismatch at start-up.
	Issuer, Audience string
}

// Defaults of Config.
const (
	DefaultPollInterval  = time.Second
	DefaultPruneInterval = time.Minute
)

// journalPollBatch is how many entries one poll query reads.
const journalPollBatch = 1000

// defaultSinceLimit applies when Since is called with a limit <= 0.
const defaultSinceLimit = 1000

// Store is the revocation store of the embedded mode: revocations are
// appended to a database Journal and announced to in-process subscribers (the
// revocation feed) through a Hub. Cursors are decimal sequence numbers.
//
// Run must be running for entries appended by other replicas to be
// announced and for expired entries to be pruned; Revoke, Snapshot and Since
// work without it. A Store is safe for concurrent use.
type Store struct {
	j      revoke.Journal
	cfg    Config
	hub    *Hub
	log    *slog.Logger
	head   atomic.Int64 // the largest seq known to exist
	pollMu sync.Mutex   // one poll at a time
}

var (
	_ revoke.BulkRevoker = (*Store)(nil)
	_ revoke.Source      = (*Store)(nil)
)

// New returns a store over j.
func New(j revoke.Journal, cfg Config) (*Store, error) {
	if j == nil {
		return nil, errors.New("sqljournal: New: nil Journal")
	}
	if cfg.PollInterval < 0 || cfg.PruneInterval < 0 {
		return nil, errors.New("sqljournal: New: negative interval")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
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
	return &Store{j: j, cfg: cfg, hub: NewHub(), log: cfg.Logger}, nil
}

// Revoke validates e, stamps At when it is zero, appends it to the journal
// and wakes every subscriber at once.
func (s *Store) Revoke(ctx context.Context, e revoke.Entry) (revoke.Event, error) {
	if err := e.Validate(); err != nil {
		return revoke.Event{}, err
	}
	if e.At == 0 {
		e.At = s.cfg.Clock().Unix()
	}
	e = e.Stamp()
	seq, err := s.j.AppendRevocation(ctx, e)
	if err != nil {
		return revoke.Event{}, fmt.Errorf("revoke: append to journal: %w", err)
	}
	s.advance(seq) // wakes subscribers unless a poll already did
	return revoke.Event{Entry: e, Cursor: formatSeq(seq)}, nil
}

// RevokeMany validates every entry, then appends them to the journal in
// batches of revoke.MaxBatch, one transaction each, waking subscribers
// once per batch: the feed reads a batch with one query and sends it to
// each stream in one write. It returns the events in the entries' order;
// a failure leaves a prefix of the batches recorded, and retrying is safe.
func (s *Store) RevokeMany(ctx context.Context, entries []revoke.Entry) ([]revoke.Event, error) {
	if err := revoke.ValidateAll(entries); err != nil {
		return nil, err
	}
	out := make([]revoke.Event, 0, len(entries))
	for batch := range revoke.Batches(entries, s.cfg.Clock().Unix()) {
		seqs, err := s.j.AppendRevocations(ctx, batch)
		if err != nil {
			return out, fmt.Errorf("revoke: append to journal: %w", err)
		}
		if len(seqs) != len(batch) {
			return out, fmt.Errorf("revoke: append to journal: %d seqs for %d entries", len(seqs), len(batch))
		}
		for i, e := range batch {
			out = append(out, revoke.Event{Entry: e, Cursor: formatSeq(seqs[i])})
		}
		s.advance(seqs[len(seqs)-1])
	}
	return out, nil
}

// Snapshot returns the live entries and the seq they are current at.
func (s *Store) Snapshot(ctx context.Context) (revoke.Snapshot, error) {
	evs, head, err := s.j.LiveRevocations(ctx, s.cfg.Clock())
	if err != nil {
		return revoke.Snapshot{}, fmt.Errorf("revoke: read live revocations: %w", err)
	}
	s.advance(head)
	entries := make([]revoke.Entry, len(evs))
	for i, ev := range evs {
		entries[i] = ev.Entry.Stamp()
	}
	layout := &revoke.Layout{V: revoke.ProtocolVersion, Issuer: s.cfg.Issuer, Audience: s.cfg.Audience}
	return revoke.Snapshot{Cursor: formatSeq(head), Layout: layout, Entries: entries}, nil
}

// Since returns up to limit events after cursor. A cursor that is not a
// decimal seq, or that lies beyond the end of the journal (the database was
// replaced), yields ErrCursorExpired: the reader must load a snapshot.
// A valid cursor never expires: entries pruned since then were no longer
// live anyway.
func (s *Store) Since(ctx context.Context, cursor string, limit int) ([]revoke.Event, error) {
	seq, err := parseSeq(cursor)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultSinceLimit
	}
	if seq > s.head.Load() {
		// Another replica may have appended it and our poll not run yet.
		if err := s.poll(ctx); err != nil {
			return nil, err
		}
		if head := s.head.Load(); seq > head {
			return nil, fmt.Errorf("%w: cursor %d is beyond the journal's end %d", revoke.ErrCursorExpired, seq, head)
		}
	}
	evs, err := s.j.RevocationsSince(ctx, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("revoke: read journal: %w", err)
	}
	for i := range evs {
		evs[i].Entry = evs[i].Entry.Stamp()
	}
	return evs, nil
}

// Subscribe returns a coalescing signal of new entries; see Hub.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.hub.Subscribe() }

// Run polls the journal for entries appended by other replicas and prunes
// expired entries until ctx is done, then returns ctx.Err(). Failures are
// logged and retried at the next tick.
func (s *Store) Run(ctx context.Context) error {
	if err := s.initHead(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("revoke: journal: read head", "err", err)
	}
	s.prune(ctx)
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	prune := time.NewTicker(s.cfg.PruneInterval)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
			if err := s.poll(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("revoke: journal: poll", "err", err)
			}
		case <-prune.C:
			s.prune(ctx)
		}
	}
}

// initHead learns the journal's end without reading expired entries, so the
// first poll does not walk the whole journal.
func (s *Store) initHead(ctx context.Context) error {
	_, head, err := s.j.LiveRevocations(ctx, s.cfg.Clock())
	if err != nil {
		return err
	}
	s.advance(head)
	return nil
}

// poll reads entries past the known head and advances the head past them.
func (s *Store) poll(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	for {
		evs, err := s.j.RevocationsSince(ctx, s.head.Load(), journalPollBatch)
		if err != nil {
			return fmt.Errorf("revoke: poll journal: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		last, err := parseSeq(evs[len(evs)-1].Cursor)
		if err != nil {
			return fmt.Errorf("revoke: poll journal: %w", err)
		}
		s.advance(last)
		if len(evs) < journalPollBatch {
			break
		}
	}
	return nil
}

func (s *Store) prune(ctx context.Context) {
	n, err := s.j.PruneRevocations(ctx, s.cfg.Clock())
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("revoke: journal: prune", "err", err)
	case n > 0:
		s.log.Debug("revoke: journal: pruned expired revocations", "count", n)
	}
}

// advance raises the known head to seq and, when that is news, wakes
// subscribers. Every path that learns of new entries (Revoke, poll,
// Snapshot) goes through it, so no subscriber misses a wake because another
// path saw the entry first.
func (s *Store) advance(seq int64) {
	for {
		cur := s.head.Load()
		if seq <= cur {
			return
		}
		if s.head.CompareAndSwap(cur, seq) {
			s.hub.Notify()
			return
		}
	}
}

func formatSeq(seq int64) string { return strconv.FormatInt(seq, 10) }

// parseSeq parses a journal cursor: a decimal integer without sign or
// leading zeros.
func parseSeq(cursor string) (int64, error) {
	bad := cursor == "" || len(cursor) > 19 || (len(cursor) > 1 && cursor[0] == '0')
	for i := 0; i < len(cursor) && !bad; i++ {
		bad = cursor[i] < '0' || cursor[i] > '9'
	}
	seq, err := strconv.ParseInt(cursor, 10, 64)
	if bad || err != nil {
		return 0, fmt.Errorf("%w: malformed cursor %.40q", revoke.ErrCursorExpired, cursor)
	}
	return seq, nil
}
