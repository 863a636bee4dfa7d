// Package auth implements the auth service's use cases: accounts, device
// sessions, token issuance and rotation, and revocation. Transport (GraphQL,
// HTTP) lives elsewhere; storage and token formats are reached through small
// interfaces declared here.
package auth

import "time"

// ClientInfo describes the client making a request, as seen by the server.
type ClientInfo struct {
	IP        string // resolved client IP (trusted proxies honoured)
	UserAgent string
	// DeviceToken is the device token the client presented (its device
	// cookie, or the login input's deviceToken), or "". It is a credential
	// for a rate-limit budget: never log or store it.
	DeviceToken string
}

// Caller is an authenticated request's identity, taken from a verified
// access token whose session is still live.
type Caller struct {
	UserID    string
	SessionID string
	TokenID   string
	ExpiresAt time.Time
	// Client is the client making the request; the transport fills it in.
	Client ClientInfo
	// Ended is set, with an error wrapping ErrSessionEnded, when the token
	// is genuine and unexpired but its session has already ended. Only
	// Logout and LogoutAll accept such a caller, so that the retry of a
	// logout that completed succeeds; everything else refuses it.
	Ended EndReason
}

// EndReason says how an authenticated caller's session ended.
type EndReason string

// The reasons a session ends before its token expires.
const (
	// EndedSession: the session was ended on its own (logout, revoked
	// from another device, evicted, expired).
	EndedSession EndReason = "session"
	// EndedEverywhere: a user-wide cut-off (logout everywhere, password
	// change elsewhere) covers the token.
	EndedEverywhere EndReason = "everywhere"
)

// User is an account. The service never hands PasswordHash to its
// callers: Register and Me return the account with it cleared.
type User struct {
	ID string
	// Email is normalised (see NormalizeEmail); storage keeps it as given.
	Email        string
	PasswordHash string // PHC string, never the password
	CreatedAt    time.Time
	LastLoginAt  time.Time // zero when never logged in
	// TokensValidAfter is the unix second before which every token of the
	// user is void (set by "log out everywhere"); 0 = none.
	TokensValidAfter int64
	// DisabledAt is when an operator disabled the account (admin API);
	// zero = enabled. A disabled account cannot log in or refresh.
	DisabledAt time.Time
	// EmailVerifiedAt is when the owner confirmed the address through a
	// mailed link (verifyEmail, or a confirmed email change); zero = not
	// verified.
	EmailVerifiedAt time.Time
}

// EmailVerified reports whether the account's address is verified.
func (u User) EmailVerified() bool { return !u.EmailVerifiedAt.IsZero() }

// withoutSecret returns u without its password hash, as the service shows
// an account to its owner.
func (u User) withoutSecret() User {
	u.PasswordHash = ""
	return u
}

// LoginResult is what a successful login returns.
type LoginResult struct {
	Token        string // access token
	RefreshToken string
	UserID       string
	Email        string
	SessionID    string
	ExpiresAt    time.Time // access token expiry
	// DeviceToken marks this client as a device the account knows (see
	// Service.Login); DeviceExpiresAt is when it lapses.
	DeviceToken     string
	DeviceExpiresAt time.Time
	// EmailVerified reports whether the account's address is verified.
	EmailVerified bool
}

// TokenPair is what a successful refresh returns.
type TokenPair struct {
	Token        string
	RefreshToken string
	ExpiresAt    time.Time
}

// Session is a device session: one login on one device, kept alive by
// refresh-token rotation. No token is stored: RefreshGen counts rotations
// and the refresh token carries the generation it was issued for.
type Session struct {
	ID         string
	UserID     string
	DeviceType string
	DeviceName string
	IPAddress  string
	UserAgent  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	// RefreshGen is the generation of the current refresh token.
	RefreshGen int64
	// RotatedAt is when RefreshGen last advanced; zero if never.
	RotatedAt time.Time
	// RevokedAt is when the session was revoked; zero = not revoked.
	RevokedAt time.Time
	// Current marks the caller's own session in Service.Sessions' answer;
	// it is a view of the request, never stored.
	Current bool
}
