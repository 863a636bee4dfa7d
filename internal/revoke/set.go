package revoke

import (
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
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{
		seed0:    maphash.MakeSeed(),
		seed1:    maphash.MakeSeed(),
		tokens:   make(map[key]uint32),
		sessions: make(map[key]uint32),
		users:    make(map[key]userCut),
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

// Apply adds e to the set. Invalid entries are ignored and reported false.
func (s *Set) Apply(e Entry) bool {
	if e.Validate() != nil {
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
	}
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
		for i, e := range chunk {
			if e.Validate() == nil {
				s.applyLocked(keys[i], e)
				n++
			}
		}
		s.mu.Unlock()
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
// nothing.
func (s *Set) Check(jti, sid, sub string, iat int64) (Kind, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
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
	return n
}

// Len returns the number of entries held.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tokens) + len(s.sessions) + len(s.users)
}
