package revoke

import "sync/atomic"

// TokenKeys are a token's identifiers hashed for one Set (KeysOf), for a
// caller that checks the same token again and again (a validator's cache
// of verified tokens): CheckKeys then looks the token up without hashing
// its identifiers each time. TokenKeys are only meaningful to the Set that
// made them.
type TokenKeys struct {
	id, session, subject, keyID key
	has                         uint8 // hasID | hasSession | ...: which identifiers are set
	issuedAt                    int64
}

const (
	hasID = 1 << iota
	hasSession
	hasSubject
	hasKeyID
)

// KeysOf hashes t's identifiers for CheckKeys. Empty identifiers match
// nothing, as in CheckToken.
func (s *Set) KeysOf(t Token) TokenKeys {
	k := TokenKeys{issuedAt: t.IssuedAt}
	for _, f := range []struct {
		id  string
		dst *key
		bit uint8
	}{{t.ID, &k.id, hasID}, {t.SessionID, &k.session, hasSession}, {t.Subject, &k.subject, hasSubject}, {t.KeyID, &k.keyID, hasKeyID}} {
		if f.id != "" {
			*f.dst = s.key(f.id)
			k.has |= f.bit
		}
	}
	return k
}

// CheckKeys is CheckToken for a token hashed by KeysOf: it reports whether
// the token is revoked, and by which kind of entry, with the same result
// CheckToken gives for the token KeysOf was given. A kind of entry the set
// holds none of costs two atomic loads.
func (s *Set) CheckKeys(k *TokenKeys) (Kind, bool) {
	if b := s.allBefore.Load(); b != 0 && k.issuedAt < int64(b) {
		return KindAll, true
	}
	if t := nonEmpty(&s.keys); t != nil && k.has&hasKeyID != 0 && t.lookup(k.keyID) != nil {
		return KindKey, true
	}
	if t := nonEmpty(&s.tokens); t != nil && k.has&hasID != 0 && t.lookup(k.id) != nil {
		return KindToken, true
	}
	if t := nonEmpty(&s.sessions); t != nil && k.has&hasSession != 0 && t.lookup(k.session) != nil {
		return KindSession, true
	}
	if t := nonEmpty(&s.users); t != nil && k.has&hasSubject != 0 {
		if c := t.lookup(k.subject); c != nil && k.issuedAt < int64(c.before.Load()) {
			return KindUser, true
		}
	}
	return "", false
}

// nonEmpty returns the table p points to, or nil when it holds no entry.
func nonEmpty(p *atomic.Pointer[table]) *table {
	if t := p.Load(); t.live.Load() != 0 {
		return t
	}
	return nil
}
