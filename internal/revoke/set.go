package revoke

import (
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// key is a 128-bit keyed hash of (kind, id). Identifiers are chosen by the
// auth service, and the seeds are random per process, so collisions are
// negligible (2^-128) while each entry costs 16 bytes instead of a string.
type key struct{ a, b uint64 }

// Set is the in-memory revocation state a validator consults on every
// request. Entries are idempotent: applying the same entry twice, or an
// older one after a newer one, changes nothing.
//
// Lookups take no lock and write no shared memory, so they scale with the
// cores validating tokens: each kind of entry lives in a table whose slots
// readers load atomically (see table), and the summary of entries this
// version cannot interpret is an immutable value swapped atomically.
// Writers (Apply, ApplyAll, Prune) are serialised by a mutex that lookups
// never touch. A lookup compares iat with the cut-off of "revoke everything
// issued before" (one atomic load) and hashes up to four short strings; memory is a few
// dozen bytes per entry.
//
// A Set is safe for concurrent use.
type Set struct {
	seed0, seed1 maphash.Seed

	mu       sync.Mutex            // serialises writers; readers never take it
	tokens   atomic.Pointer[table] // jti → expires
	sessions atomic.Pointer[table] // sid → expires
	users    atomic.Pointer[table] // sub → expires, before
	keys     atomic.Pointer[table] // kid → expires
	// allBefore is the cut-off of the live KindAll entry (0: none): every
	// token with an earlier iat is revoked. One atomic load on the request
	// path; allExpires, guarded by mu, is when Prune forgets it.
	allBefore  atomic.Uint32
	allExpires uint32
	// unsupported holds the entries this version cannot interpret (a newer
	// protocol version or kind), by kind and id: while one is live, every
	// token is refused (see Unsupported). Guarded by mu; readers see
	// unsupportedSum.
	unsupported    map[string]unsupportedEntry
	unsupportedSum atomic.Pointer[unsupportedSummary]
	observer       atomic.Pointer[func([]Entry)] // see Observe
	applied        atomic.Uint64                 // see Applied
}

// unsupportedEntry is a live entry the set could not interpret.
type unsupportedEntry struct {
	expires uint32
	why     string
}

// unsupportedSummary is what Unsupported reports, recomputed by writers.
type unsupportedSummary struct {
	n   int
	why string
}

// NewSet returns an empty set.
func NewSet() *Set {
	s := &Set{seed0: maphash.MakeSeed(), seed1: maphash.MakeSeed()}
	for _, t := range s.tables() {
		t.Store(newTable(0))
	}
	s.unsupportedSum.Store(&unsupportedSummary{})
	return s
}

func (s *Set) tables() []*atomic.Pointer[table] {
	return []*atomic.Pointer[table]{&s.tokens, &s.sessions, &s.users, &s.keys}
}

func (s *Set) key(id string) key {
	k := key{maphash.String(s.seed0, id), maphash.String(s.seed1, id)}
	if k.a == 0 {
		k.a = 1 // zero marks an empty table slot
	}
	return k
}

// put merges one entry into the table p points to; the caller holds mu.
// When the table is full, the entry goes into a larger copy that then
// replaces it.
func put(p *atomic.Pointer[table], k key, expires, before uint32) {
	t := p.Load()
	if !t.full() {
		t.upsert(k, expires, before)
		return
	}
	nt := t.grown(1)
	nt.upsert(k, expires, before)
	p.Store(nt)
}

// clampUnix converts unix seconds to the uint32 the set stores (valid until
// 2106); out-of-range values saturate.
func clampUnix(v int64) uint32 {
	switch {
	case v <= 0:
		return 0
	case v >= 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(v)
}

// Apply adds e to the set and reports whether it was applied. Malformed
// entries are ignored. An entry this version cannot interpret
// (ErrUnsupported: a newer protocol version or an unknown kind) is not
// ignored: it is remembered until it expires, and meanwhile Unsupported
// reports it so that the validator refuses every token.
func (s *Set) Apply(e Entry) bool {
	if err := e.Validate(); err != nil {
		s.noteUnsupported(e, err)
		return false
	}
	k := s.key(e.ID)
	s.mu.Lock()
	s.applyLocked(k, e)
	s.mu.Unlock()
	s.notify(e)
	return true
}

// applyLocked merges a valid entry; the caller holds mu.
func (s *Set) applyLocked(k key, e Entry) {
	exp := clampUnix(e.Expires)
	switch e.Kind {
	case KindToken:
		put(&s.tokens, k, exp, 0)
	case KindSession:
		put(&s.sessions, k, exp, 0)
	case KindUser:
		put(&s.users, k, exp, clampUnix(e.Before))
	case KindKey:
		put(&s.keys, k, exp, 0)
	case KindAll:
		// Entries merge as in the tables: cut-off and expiry only rise.
		s.allExpires = max(s.allExpires, exp)
		if b := clampUnix(e.Before); b > s.allBefore.Load() {
			s.allBefore.Store(b)
		}
	}
}

// noteUnsupported remembers an entry that failed validation with
// ErrUnsupported. An entry without an expiry is kept for good.
func (s *Set) noteUnsupported(e Entry, err error) {
	if !errors.Is(err, ErrUnsupported) {
		return
	}
	exp := clampUnix(e.Expires)
	if e.Expires <= 0 {
		exp = 1<<32 - 1
	}
	f := string(e.Kind) + ":" + e.ID
	if len(f) > 2*maxIDLen {
		f = f[:2*maxIDLen]
	}
	s.mu.Lock()
	if s.unsupported == nil {
		s.unsupported = make(map[string]unsupportedEntry)
	}
	if u, ok := s.unsupported[f]; !ok || exp > u.expires {
		s.unsupported[f] = unsupportedEntry{expires: exp, why: err.Error()}
	}
	s.summariseUnsupportedLocked()
	s.mu.Unlock()
	s.notify(e)
}

// summariseUnsupportedLocked publishes what Unsupported reports; the
// caller holds mu.
func (s *Set) summariseUnsupportedLocked() {
	sum := &unsupportedSummary{n: len(s.unsupported)}
	for _, u := range s.unsupported {
		if sum.why == "" || u.why < sum.why {
			sum.why = u.why // deterministic: the smallest reason
		}
	}
	s.unsupportedSum.Store(sum)
}

// Unsupported returns how many live entries the set holds that this
// version cannot interpret, and why one of them was not understood. While
// it is positive the set cannot tell which tokens are revoked: the
// validator must refuse them all.
func (s *Set) Unsupported() (n int, why string) {
	sum := s.unsupportedSum.Load()
	return sum.n, sum.why
}

// applyChunk is how many entries ApplyAll merges per acquisition of the
// writers' mutex, so that loading a large snapshot never holds up a live
// revocation for long (lookups never wait for it).
const applyChunk = 4096

// ApplyAll adds every entry (a snapshot, or a batch of events), taking
// the lock once per chunk of entries rather than once per entry and
// growing each table at most once per chunk, and returns how many were
// valid. Entries it cannot interpret are remembered as Apply does.
func (s *Set) ApplyAll(entries []Entry) int {
	n := 0
	keys := make([]key, 0, min(len(entries), applyChunk))
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), applyChunk)]
		entries = entries[len(chunk):]
		keys = keys[:0]
		for _, e := range chunk {
			keys = append(keys, s.key(e.ID)) // hashed outside the lock
		}
		s.mu.Lock()
		s.reserveLocked(chunk)
		var bad []Entry
		for i, e := range chunk {
			if e.Validate() == nil {
				s.applyLocked(keys[i], e)
				n++
			} else {
				bad = append(bad, e)
			}
		}
		s.mu.Unlock()
		s.notifyAll(chunk)
		for _, e := range bad {
			s.noteUnsupported(e, e.Validate())
		}
	}
	return n
}

// reserveLocked grows each table once to room for the chunk's entries of
// its kind, so that applying a batch swaps a table at most once rather
// than each time it fills; the caller holds mu.
func (s *Set) reserveLocked(chunk []Entry) {
	var n [4]int // tokens, sessions, users, keys: the order of tables
	for _, e := range chunk {
		switch e.Kind {
		case KindToken:
			n[0]++
		case KindSession:
			n[1]++
		case KindUser:
			n[2]++
		case KindKey:
			n[3]++
		}
	}
	for i, p := range s.tables() {
		if t := p.Load(); n[i] > 0 {
			if nt := t.grown(n[i]); nt != t {
				p.Store(nt)
			}
		}
	}
}

// Reserve presizes the maps that are still empty for about the given
// numbers of entries, so a first snapshot fills them without growing them
// step by step. Maps already holding entries are left alone.
func (s *Set) Reserve(tokens, sessions, users int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range []struct {
		p *atomic.Pointer[table]
		n int
	}{{&s.tokens, tokens}, {&s.sessions, sessions}, {&s.users, users}} {
		if t := r.p.Load(); t.used == 0 && r.n > 0 {
			r.p.Store(newTable(r.n))
		}
	}
}

// Check reports whether a token with the given jti, sid, sub and iat (unix
// seconds) is revoked, and by which kind of entry. Empty identifiers match
// nothing. It ignores key revocations; CheckToken sees them.
func (s *Set) Check(jti, sid, sub string, iat int64) (Kind, bool) {
	return s.CheckToken(Token{ID: jti, SessionID: sid, Subject: sub, IssuedAt: iat})
}

// Token is what a revocation can name in a token.
type Token struct {
	ID        string // jti
	SessionID string // sid
	Subject   string // sub
	KeyID     string // kid of the signing key
	IssuedAt  int64  // iat, unix seconds
}

// CheckToken reports whether t is revoked, and by which kind of entry.
// Empty identifiers match nothing. Entries the set cannot interpret are not
// consulted here: callers check Unsupported.
func (s *Set) CheckToken(t Token) (Kind, bool) {
	if b := s.allBefore.Load(); b != 0 && t.IssuedAt < int64(b) {
		return KindAll, true
	}
	if t.KeyID != "" && s.has(&s.keys, t.KeyID) != nil {
		return KindKey, true
	}
	if t.ID != "" && s.has(&s.tokens, t.ID) != nil {
		return KindToken, true
	}
	if t.SessionID != "" && s.has(&s.sessions, t.SessionID) != nil {
		return KindSession, true
	}
	if t.Subject != "" {
		if c := s.has(&s.users, t.Subject); c != nil && t.IssuedAt < int64(c.before.Load()) {
			return KindUser, true
		}
	}
	return "", false
}

// has returns the live slot of id in the table p points to, or nil. It
// hashes id only when the table holds entries.
func (s *Set) has(p *atomic.Pointer[table], id string) *slot {
	t := p.Load()
	if t.live.Load() == 0 {
		return nil
	}
	return t.lookup(s.key(id))
}

// Prune forgets entries that can no longer affect any token at now and
// returns how many were removed.
func (s *Set) Prune(now time.Time) int {
	t := clampUnix(now.Unix())
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.tables() {
		tb := p.Load()
		pruned := tb.prune(t)
		n += pruned
		if pruned == 0 {
			continue
		}
		if live := int(tb.live.Load()); tb.used > 2*live+minTableSlots {
			p.Store(tb.rebuilt(live)) // tombstones would lengthen every probe
		}
	}
	removed := 0
	if s.allExpires != 0 && s.allExpires <= t {
		s.allBefore.Store(0)
		s.allExpires = 0
		removed++
	}
	for f, u := range s.unsupported {
		if u.expires <= t {
			delete(s.unsupported, f)
			removed++
		}
	}
	if removed > 0 {
		s.summariseUnsupportedLocked()
	}
	return n + removed
}

// Len returns the number of entries held.
func (s *Set) Len() int {
	n, _ := s.Unsupported()
	if s.allBefore.Load() != 0 {
		n++
	}
	for _, p := range s.tables() {
		n += int(p.Load().live.Load())
	}
	return n
}
