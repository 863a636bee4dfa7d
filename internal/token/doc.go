// Package token issues and verifies the JWTs of authmesh and manages the
// keys that sign them.
//
// It provides the token claims (Claims), the signing key sources (HMACKeys
// for a shared HS256 secret, KeyRing for rotating EdDSA, ES256 or RS256 keys
// kept in a KeyStore), JWKS publication (JWKS methods and JWKSHandler), the
// Issuer used by the auth service, the Verifier every validator runs on each
// request, and RemoteKeys, a JWKS client that keeps a validator's copy of the
// auth service's public keys current.
//
// The public session package imports this package, so it stays light: it
// depends on the standard library only. JWS signing and verification,
// JWK encoding and JWK parsing are written against crypto/* directly rather
// than on golang-jwt, go-jose or keyfunc, for three reasons: the verifier
// must never take the algorithm from the token and must reject headers such
// as jku or crit outright, which is simplest when the parser knows only what
// this package needs; a hand-written path is measurably cheaper than the
// general libraries (see BenchmarkVerifyEdDSA); and the RemoteKeys semantics
// (no network call on the request path, rate-limited background refetch on
// an unknown kid, keep the last good set on failure, skip unusable keys one
// by one instead of rejecting the whole set) are easier to guarantee in ~200
// lines than by configuring keyfunc/jwkset, whose unknown-kid refresh runs on
// the caller's goroutine. The tests check every token and JWKS against
// go-jose v4 and keyfunc v3 as independent implementations.
//
// All exported types are safe for concurrent use unless their documentation
// says otherwise.
package token
