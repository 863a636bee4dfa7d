// Package token is the JOSE codec of authmesh: it issues and verifies its
// JWTs.
//
// It provides the token claims (Claims), the key types and interfaces
// (Signer, SigningKey, VerificationKeys), HMACKeys for a shared HS256
// secret, the Issuer used by the auth service, and the Verifier every
// validator runs on each request. Validators get the auth service's public
// keys from package jwks; the auth service's rotating asymmetric keys live
// in package keyring.
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
// Everything off the request path uses go-jose (JWK and JWKS encoding and
// parsing, RFC 7638 thumbprints: package jwks).
//
// All exported types are safe for concurrent use unless their documentation
// says otherwise.
package token
