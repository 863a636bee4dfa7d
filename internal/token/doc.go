// Package token is the JOSE codec of authmesh: it issues and verifies its
// JWTs.
//
// It provides the token claims (Claims), the key types and interfaces
// (Signer, SigningKey, VerificationKeys), HMACKeys for a shared HS256
// secret, the Issuer used by the auth service, the Verifier every validator
// runs on each request, and RemoteKeys, a JWKS client that keeps a
// validator's copy of the auth service's public keys current. The auth
// service's rotating asymmetric keys live in package keyring.
//
// What is hand-written, and why. Verify runs on every request, so the
// compact JWS parser, the strict JSON reader for the header and claims
// (jsonscan.go) and the signature checks are written against crypto/*
// directly: the verifier must never take the algorithm from the token and
// must refuse jku, crit and the like outright, which is simplest when the
// parser knows only what this package needs, and go-jose takes measurably
// longer on the same token (BenchmarkVerifyVsGoJose; figures in
// docs/PERFORMANCE.md). FuzzVerifyDifferential proves it against go-jose:
// every token Verify accepts, go-jose accepts with the same algorithm pinned
// and reads identically. Signing stays ours too, because ES256 signatures
// must be low-S and deterministic (RFC 6979) for the refresh re-issue.
// Everything off the request path uses go-jose: JWK and JWKS encoding and
// parsing, and RFC 7638 thumbprints. Private keys are stored as PKCS#8 and
// PKIX DER by crypto/x509. RemoteKeys stays ours for its semantics (no
// network call on the request path, rate-limited background refetch on an
// unknown kid, keep the last good set on failure, skip unusable keys one by
// one), which keyfunc/jwkset do not offer: their unknown-kid refresh runs on
// the caller's goroutine.
//
// All exported types are safe for concurrent use unless their documentation
// says otherwise.
package token
