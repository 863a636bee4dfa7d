// Package jwks is the validators' side of published keys: it encodes and
// parses JSON Web Key Sets (RFC 7517) and keeps a validator's copy of the
// auth service's public keys current (RemoteKeys).
//
// JWK and JWKS encoding and parsing, and RFC 7638 thumbprints, use go-jose:
// they are off the request path. RemoteKeys stays ours for its semantics
// (no network call on the request path, rate-limited background refetch on
// an unknown kid, keep the last good set on failure, skip unusable keys one
// by one), which keyfunc/jwkset do not offer: their unknown-kid refresh runs
// on the caller's goroutine.
//
// All exported types are safe for concurrent use.
package jwks
