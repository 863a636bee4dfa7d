// Package bearer parses the credentials of an "Authorization: Bearer
// <token>" header (RFC 6750 §2.1) by one rule, shared by every place that
// reads one: the session middleware, the gRPC interceptors, the auth
// service's GraphQL endpoint and its revocation feed.
package bearer

import "strings"

// MaxHeaderBytes bounds the Authorization value that is parsed at all;
// a longer one carries no token. No token the auth service issues comes
// near it.
const MaxHeaderBytes = 8 << 10

// Token returns the token of an authorization value "Bearer <token>", or ""
// when the value is anything else. The rule is RFC 6750 §2.1's
// `"Bearer" 1*SP b64token`: at most MaxHeaderBytes, the scheme in any
// letter case, one or more spaces, then a non-empty token in the token68
// alphabet (letters, digits, "-._~+/", then optional trailing "="), and
// nothing else: no second token, no tab, no whitespace before the scheme
// or after the token. (net/http strips the optional whitespace around a
// header's value before anyone reads it; other transports, such as gRPC
// metadata, get no such leniency.)
func Token(value string) string {
	if tok := Candidate(value); Valid(tok) {
		return tok
	}
	return ""
}

// Candidate is Token without the check of the token's alphabet: what
// follows the scheme and its spaces in a value of at most MaxHeaderBytes,
// or "" when the value does not start "Bearer ". Only a caller that knows
// the candidate to be a string it has accepted before (a verified token,
// whose every character was checked then) may use it without Valid.
func Candidate(value string) string {
	const scheme = "bearer"
	if len(value) > MaxHeaderBytes || len(value) < len(scheme)+2 || !strings.EqualFold(value[:len(scheme)], scheme) || value[len(scheme)] != ' ' {
		return ""
	}
	return strings.TrimLeft(value[len(scheme):], " ")
}

// Valid reports whether s can travel as a bearer token: RFC 7235's
// token68, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// A configured shared secret sent as one (FEED_TOKEN) is checked with it,
// so that Token can ever return it.
//
// It reads each byte once, eight at a time, through a table and without a
// branch per byte: the middleware runs it on every request.
func Valid(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	var bad byte
	b := s[:n]
	for ; len(b) >= 8; b = b[8:] {
		bad |= notToken68[b[0]] | notToken68[b[1]] | notToken68[b[2]] | notToken68[b[3]] |
			notToken68[b[4]] | notToken68[b[5]] | notToken68[b[6]] | notToken68[b[7]]
	}
	for i := 0; i < len(b); i++ {
		bad |= notToken68[b[i]]
	}
	return bad == 0
}

// notToken68 is 0 at the bytes of the token68 alphabet before its padding
// (letters, digits, "-._~+/") and 1 at every other byte.
const notToken68 = "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x01\x01\x01" +
	"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x01\x00" +
	"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x00\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
