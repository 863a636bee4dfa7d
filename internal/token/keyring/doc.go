// Package keyring is the auth service's side of asymmetric signing keys:
// it generates them, rotates them, seals their private halves at rest,
// persists them through a KeyStore, withdraws a leaked one, and serves the
// published keys as a JWKS over HTTP. Validators never import it: they read
// the JWKS with package jwks. Private keys are stored as PKCS#8 and public
// keys as PKIX DER (crypto/x509).
//
// All exported types are safe for concurrent use unless their documentation
// says otherwise.
package keyring
