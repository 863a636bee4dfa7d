package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// TokenPurpose says what an account token (the single-use token a mailed
// link carries) may be consumed for.
type TokenPurpose string

// The purposes of account tokens, as stored (account_tokens.purpose).
const (
	// PurposeVerifyEmail confirms the account's address (verifyEmail).
	PurposeVerifyEmail TokenPurpose = "verify_email"
	// PurposeResetPassword sets a new password (resetPassword).
	PurposeResetPassword TokenPurpose = "reset_password"
	// PurposeChangeEmail confirms a new address, AccountToken.NewEmail,
	// which replaces the account's when the token is consumed.
	PurposeChangeEmail TokenPurpose = "change_email"
	// PurposeRegister is a registration pending on an address that an
	// unverified account holds (REQUIRE_VERIFIED_EMAIL): consuming it
	// replaces that account (UserID) with a new, verified one of
	// NewEmail and PasswordHash. It is consumed through verifyEmail.
	PurposeRegister TokenPurpose = "register"
)

// AccountToken is the stored record of a single-use token: its SHA-256
// hash, never the token itself.
type AccountToken struct {
	ID      string
	UserID  string
	Purpose TokenPurpose
	// Hash is the hex SHA-256 of the token (HashAccountToken).
	Hash string
	// NewEmail is the address a change_email or register token confirms.
	NewEmail string
	// PasswordHash is the password of a pending registration (register).
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	// UsedAt is when the token was spent: consumed, superseded by a newer
	// one of its user and purpose, or voided by a password change. Zero =
	// still usable (until ExpiresAt).
	UsedAt time.Time
}

// accountTokenBytes is the entropy of an account token: 256 bits, well
// above the 128 the contract asks for.
const accountTokenBytes = 32

// maxAccountTokenLen bounds a presented token; longer ones are refused
// before they are hashed.
const maxAccountTokenLen = 128

// NewAccountToken returns a fresh random token (base64url without
// padding, 43 characters) and its hash, the only form that is stored.
func NewAccountToken() (raw, hash string) {
	var b [accountTokenBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	raw = base64.RawURLEncoding.EncodeToString(b[:])
	return raw, HashAccountToken(raw)
}

// HashAccountToken is the stored form of a token: its SHA-256, in hex. A
// token has 256 random bits, so a fast unsalted hash suffices: the hash
// of a database dump cannot be turned back into a working link.
func HashAccountToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// wellFormedToken reports whether raw could be a token this package
// issued: base64url, of the right length. Anything else is refused
// without a database lookup.
func wellFormedToken(raw string) bool {
	if len(raw) == 0 || len(raw) > maxAccountTokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	return err == nil && len(b) == accountTokenBytes
}

// Mail is a composed message, ready for the durable outbox: the bytes
// every delivery attempt sends. The store enqueues it in the transaction
// of the change that causes it.
type Mail struct {
	ID      string // Message-ID, without angle brackets
	From    string // bare sender address
	To      string // bare recipient address
	Subject string // full subject, product name included
	Data    []byte // the RFC 5322 message
}

// Letter is a message before composition: what to say, to whom.
type Letter struct {
	To      string
	Subject string // without the product name, which composition adds
	Text    string // plain-text part
	HTML    string // HTML part, a complete self-contained document
}

// Composer turns a Letter into a Mail (headers, MIME parts, Message-ID,
// the configured sender). internal/server adapts internal/mail's Compose
// to it. Safe for concurrent use.
type Composer interface {
	Compose(l Letter, now time.Time) (Mail, error)
}
