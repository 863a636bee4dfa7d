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
	const scheme = "bearer"
	if len(value) > MaxHeaderBytes || len(value) < len(scheme)+2 || !strings.EqualFold(value[:len(scheme)], scheme) || value[len(scheme)] != ' ' {
		return ""
	}
	tok := strings.TrimLeft(value[len(scheme):], " ")
	if !Valid(tok) {
		return ""
	}
	return tok
}

// Valid reports whether s can travel as a bearer token: RFC 7235's
// token68, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// A configured shared secret sent as one (FEED_TOKEN) is checked with it,
// so that Token can ever return it.
func Valid(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
