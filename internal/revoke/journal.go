package revoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Journal is the durable, append-only revocation log kept in the database
// (SQLite or PostgreSQL; internal/store implements it). Each appended entry
// gets a sequence number (seq) greater than every earlier one.
//
// Implementations must make seqs visible in ascending order: once an entry
// with seq N can be read, no entry with a smaller seq may appear later. (On
// PostgreSQL, where sequence values are handed out before commit, that means
// serialising appends, for example with pg_advisory_xact_lock; on SQLite the
// single writer gives it for free.) Otherwise a reader that has advanced past
// N could miss the late entry.
//
// Implementations are safe for concurrent use.
type Journal interface {
	// AppendRevocation stores e and returns its seq.
	AppendRevocation(ctx context.Context, e Entry) (int64, error)
	// RevocationsSince returns up to limit entries with seq greater than
	// seq, in ascending seq order, with Cursor set to the decimal seq.
	RevocationsSince(ctx context.Context, seq int64, limit int) ([]Event, error)
	// LiveRevocations returns the entries still live at now, and the
	// largest seq in the journal, both read from one consistent view.
	LiveRevocations(ctx context.Context, now time.Time) ([]Event, int64, error)
	// PruneRevocations deletes entries no longer live at now and returns
	// how many were deleted.
	PruneRevocations(ctx context.Context, now time.Time) (int64, error)
}

// JournalConfig configures a JournalStore. The zero value is usable.
type JournalConfig struct {
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

// Defaults of JournalConfig.
const (
	DefaultJournalPollInterval  = time.Second
	DefaultJournalPruneInterval = time.Minute
)

// journalPollBatch is how many entries one poll query reads.
const journalPollBatch = 1000

// defaultSinceLimit applies when Since is called with a limit <= 0.
const defaultSinceLimit = 1000

// JournalStore is the revocation store of the embedded mode: revocations are
// appended to a database Journal and announced to in-process subscribers (the
// revocation feed) through a Hub. Cursors are decimal sequence numbers.
//
// Run must be running for entries appended by other replicas to be
// announced and for expired entries to be pruned; Revoke, Snapshot and Since
// work without it. A JournalStore is safe for concurrent use.
type JournalStore struct {
	j      Journal
	cfg    JournalConfig
	hub    *Hub
	log    *slog.Logger
	head   atomic.Int64 // the largest seq known to exist
	pollMu sync.Mutex   // one poll at a time
}

var (
	_ Revoker = (*JournalStore)(nil)
	_ Source  = (*JournalStore)(nil)
)

// NewJournalStore returns a store over j.
func NewJournalStore(j Journal, cfg JournalConfig) (*JournalStore, error) {
	if j == nil {
		return nil, errors.New("revoke: NewJournalStore: nil Journal")
	}
	if cfg.PollInterval < 0 || cfg.PruneInterval < 0 {
		return nil, errors.New("revoke: NewJournalStore: negative interval")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultJournalPollInterval
	}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = DefaultJournalPruneInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &JournalStore{j: j, cfg: cfg, hub: NewHub(), log: cfg.Logger}, nil
}

// Revoke validates e, stamps At when it is zero, appends it to the journal
// and wakes every subscriber at once.
func (s *JournalStore) Revoke(ctx context.Context, e Entry) (Event, error) {
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	if e.At == 0 {
		e.At = s.cfg.Clock().Unix()
	}
	e = e.Stamp()
	seq, err := s.j.AppendRevocation(ctx, e)
	if err != nil {
		return Event{}, fmt.Errorf("revoke: append to journal: %w", err)
	}
	s.advance(seq) // wakes subscribers unless a poll already did
	return Event{Entry: e, Cursor: formatSeq(seq)}, nil
}

// Snapshot returns the live entries and the seq they are current at.
func (s *JournalStore) Snapshot(ctx context.Context) (Snapshot, error) {
	evs, head, err := s.j.LiveRevocations(ctx, s.cfg.Clock())
	if err != nil {
		return Snapshot{}, fmt.Errorf("revoke: read live revocations: %w", err)
	}
	s.advance(head)
	entries := make([]Entry, len(evs))
	for i, ev := range evs {
		entries[i] = ev.Entry.Stamp()
	}
	layout := &Layout{V: ProtocolVersion, Issuer: s.cfg.Issuer, Audience: s.cfg.Audience}
	return Snapshot{Cursor: formatSeq(head), Layout: layout, Entries: entries}, nil
}

// Since returns up to limit events after cursor. A cursor that is not a
// decimal seq, or that lies beyond the end of the journal (the database was
// replaced), yields ErrCursorExpired: the reader must load a snapshot.
// A valid cursor never expires: entries pruned since then were no longer
// live anyway.
func (s *JournalStore) Since(ctx context.Context, cursor string, limit int) ([]Event, error) {
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
			return nil, fmt.Errorf("%w: cursor %d is beyond the journal's end %d", ErrCursorExpired, seq, head)
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
func (s *JournalStore) Subscribe() (<-chan struct{}, func()) { return s.hub.Subscribe() }

// Run polls the journal for entries appended by other replicas and prunes
// expired entries until ctx is done, then returns ctx.Err(). Failures are
// logged and retried at the next tick.
func (s *JournalStore) Run(ctx context.Context) error {
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
func (s *JournalStore) initHead(ctx context.Context) error {
	_, head, err := s.j.LiveRevocations(ctx, s.cfg.Clock())
	if err != nil {
		return err
	}
	s.advance(head)
	return nil
}

// poll reads entries past the known head and advances the head past them.
func (s *JournalStore) poll(ctx context.Context) error {
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

func (s *JournalStore) prune(ctx context.Context) {
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
func (s *JournalStore) advance(seq int64) {
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
		return 0, fmt.Errorf("%w: malformed cursor %.40q", ErrCursorExpired, cursor)
	}
	return seq, nil
}
