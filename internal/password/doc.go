// Package password hashes and verifies passwords with argon2id and checks
// new passwords against the service's policy.
//
// Hashes are encoded in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (salt and hash in standard base64 without padding), so the parameters
// travel with every hash and can be raised later: Verify reports
// needsRehash when a stored hash was made with parameters other than the
// Hasher's, and the caller stores a fresh Hash after a successful login.
//
// Argon2id is deliberately expensive in memory and time. A Hasher bounds how
// many hashes run at once, so a flood of login attempts queues (honouring
// each request's context) instead of exhausting memory.
//
// CheckPolicy says whether a new password is acceptable, with errors
// written to be shown to the person choosing it.
package password
