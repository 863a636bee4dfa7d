package revoke

import (
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// key is a 128-bit keyed hash of (kind, id). Identifiers are chosen by the
// auth service, and the seeds are random per process, so collisions are
// negligible (2^-128) while each entry costs 16 bytes instead of a string.
type key [16]byte

// userCut is a KindUser entry: tokens issued before `before` are revoked.
type userCut struct{ before, expires uint32 }

// Set is the in-memory revocation state a validator consults on every
// request. Lookups take a read lock and hash three short strings; memory is
// a few dozen bytes per entry. Entries are idempotent: applying the same
// entry twice, or an older one after a newer one, changes nothing.
//
// A Set is safe for concurrent use.
type Set struct {
	seed0, seed1 maphash.Seed

	mu       sync.RWMutex
	tokens   map[key]uint32 // jti → expires
	sessions map[key]uint32 // sid → expires
	users    map[key]userCut
	keys     map[key]uint32 // kid → expires
	// unsupported holds the entries this version cannot interpret (a newer
	// protocol version or kind), by kind and id: while one is live, every
	// token is refused (see Unsupported).
	unsupported map[string]unsupportedEntry
}

// unsupportedEntry is a live entry the set could not interpret.
type unsupportedEntry struct {
	expires uint32
	why     string
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{
		seed0:    maphash.MakeSeed(),
		seed1:    maphash.MakeSeed(),
		tokens:   make(map[key]uint32),
		sessions: make(map[key]uint32),
		users:    make(map[key]userCut),
		keys:     make(map[key]uint32),
	}
}

func (s *Set) key(id string) key {
	var k key
	a := maphash.String(s.seed0, id)
	b := maphash.String(s.seed1, id)
	for i := 0; i < 8; i++ {
		k[i] = byte(a >> (8 * i))
		k[8+i] = byte(b >> (8 * i))
	}
	return k
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
	defer s.mu.Unlock()
	s.applyLocked(k, e)
	return true
}

// applyLocked merges a valid entry; the caller holds mu.
func (s *Set) applyLocked(k key, e Entry) {
	exp := clampUnix(e.Expires)
	switch e.Kind {
	case KindToken:
		if exp > s.tokens[k] {
			s.tokens[k] = exp
		}
	case KindSession:
		if exp > s.sessions[k] {
			s.sessions[k] = exp
		}
	case KindUser:
		c := s.users[k]
		c.before = max(c.before, clampUnix(e.Before))
		c.expires = max(c.expires, exp)
		s.users[k] = c
	case KindKey:
		if exp > s.keys[k] {
			s.keys[k] = exp
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
	defer s.mu.Unlock()
	if s.unsupported == nil {
		s.unsupported = make(map[string]unsupportedEntry)
	}
	if u, ok := s.unsupported[f]; !ok || exp > u.expires {
		s.unsupported[f] = unsupportedEntry{expires: exp, why: err.Error()}
	}
}

// Unsupported returns how many live entries the set holds that this
// version cannot interpret, and why one of them was not understood. While
// it is positive the set cannot tell which tokens are revoked: the
// validator must refuse them all.
func (s *Set) Unsupported() (n int, why string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.unsupported {
		if why == "" || u.why < why {
			why = u.why // deterministic: the smallest reason
		}
	}
	return len(s.unsupported), why
}

// applyChunk is how many entries ApplyAll merges per lock acquisition, so
// loading a large snapshot never stalls lookups for long.
const applyChunk = 4096

// ApplyAll adds every entry (snapshot loading), taking the lock once per
// chunk of entries rather than once per entry, and returns how many were
// valid.
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
		for _, e := range bad {
			s.noteUnsupported(e, e.Validate())
		}
	}
	return n
}

// reserve presizes the maps that are still empty for about the given
// numbers of entries, so a first snapshot fills them without growing them
// step by step. Maps already holding entries are left alone.
func (s *Set) reserve(tokens, sessions, users int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) == 0 && tokens > 0 {
		s.tokens = make(map[key]uint32, tokens)
	}
	if len(s.sessions) == 0 && sessions > 0 {
		s.sessions = make(map[key]uint32, sessions)
	}
	if len(s.users) == 0 && users > 0 {
		s.users = make(map[key]userCut, users)
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
	jti, sid, sub, iat := t.ID, t.SessionID, t.Subject, t.IssuedAt
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t.KeyID != "" && len(s.keys) > 0 {
		if _, ok := s.keys[s.key(t.KeyID)]; ok {
			return KindKey, true
		}
	}
	if jti != "" && len(s.tokens) > 0 {
		if _, ok := s.tokens[s.key(jti)]; ok {
			return KindToken, true
		}
	}
	if sid != "" && len(s.sessions) > 0 {
		if _, ok := s.sessions[s.key(sid)]; ok {
			return KindSession, true
		}
	}
	if sub != "" && len(s.users) > 0 {
		if c, ok := s.users[s.key(sub)]; ok && iat < int64(c.before) {
			return KindUser, true
		}
	}
	return "", false
}

// Prune forgets entries that can no longer affect any token at now and
// returns how many were removed.
func (s *Set) Prune(now time.Time) int {
	t := clampUnix(now.Unix())
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, exp := range s.tokens {
		if exp <= t {
			delete(s.tokens, k)
			n++
		}
	}
	for k, exp := range s.sessions {
		if exp <= t {
			delete(s.sessions, k)
			n++
		}
	}
	for k, c := range s.users {
		if c.expires <= t {
			delete(s.users, k)
			n++
		}
	}
	for k, exp := range s.keys {
		if exp <= t {
			delete(s.keys, k)
			n++
		}
	}
	for f, u := range s.unsupported {
		if u.expires <= t {
			delete(s.unsupported, f)
			n++
		}
	}
	return n
}

// Len returns the number of entries held.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tokens) + len(s.sessions) + len(s.users) + len(s.keys) + len(s.unsupported)
}
