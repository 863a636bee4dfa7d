package auth

import (
	"context"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// The storage the service needs, one interface per kind of record. Each is
// implemented by *store.DB (SQLite or PostgreSQL), which maps its rows to
// the types of this package; lookups of a missing record return an error
// wrapping ErrNotFound. Implementations must be safe for concurrent use.

// Users stores accounts.
type Users interface {
	// CreateUser stores a new account with a fresh random id; an email
	// already registered yields ErrEmailTaken.
	CreateUser(ctx context.Context, email, passwordHash string, now time.Time) (User, error)
	// UserByEmail and UserByID return the account, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	// SetPassword replaces the account's password hash.
	SetPassword(ctx context.Context, userID, passwordHash string) error
	// SetLastLogin records the time of a successful login.
	SetLastLogin(ctx context.Context, userID string, at time.Time) error
	// SetTokensValidAfter raises the account's cut-off (User.TokensValidAfter)
	// to unix; a lower value leaves it unchanged.
	SetTokensValidAfter(ctx context.Context, userID string, unix int64) error
}

// UserAdmin is the storage of the operator's account actions (the admin
// API); *store.DB implements it. Both return ErrNotFound for an unknown
// user.
type UserAdmin interface {
	// SetDisabled disables the account at at; a zero at enables it.
	SetDisabled(ctx context.Context, userID string, at time.Time) error
	// DeleteUser deletes the account and its sessions.
	DeleteUser(ctx context.Context, userID string) error
}

// Sessions stores device sessions.
type Sessions interface {
	// CreateSession stores s (Current is ignored); an unknown s.UserID
	// yields ErrNotFound.
	CreateSession(ctx context.Context, s Session) error
	// SessionByID returns the session, live or not, or ErrNotFound.
	SessionByID(ctx context.Context, id string) (Session, error)
	// SessionWithUser returns the session, live or not, and of its user
	// only ID, TokensValidAfter and DisabledAt, in one read (a refresh and
	// every authenticated request need both); ErrNotFound when there is no
	// such session.
	SessionWithUser(ctx context.Context, id string) (Session, User, error)
	// ListSessions returns the user's sessions live at now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// AdvanceRefresh is the compare-and-swap of refresh rotation: if the
	// session is live at now and at generation fromGen, it moves to
	// fromGen+1 (RotatedAt and LastUsedAt = now, ExpiresAt = expiresAt)
	// and reports true; of concurrent calls with one fromGen exactly one
	// wins, on any replica.
	AdvanceRefresh(ctx context.Context, id string, fromGen int64, now, expiresAt time.Time) (bool, error)
	// RevokeSession ends the session if it is live; false, without error,
	// when it is unknown, expired or already revoked.
	RevokeSession(ctx context.Context, id string, now time.Time) (bool, error)
	// RevokeUserSessions ends every live session of the user but exceptID
	// ("" = none) and returns the ids it ended.
	RevokeUserSessions(ctx context.Context, userID, exceptID string, now time.Time) ([]string, error)
	// RevokeSessionsCreatedBefore ends every live session, of any user,
	// created before the given time and returns how many it ended.
	RevokeSessionsCreatedBefore(ctx context.Context, before, now time.Time) (int, error)
}

// Revoker records revocations so that every validator rejects what they
// name; the revocation stores of internal/revoke implement it. Revoking
// twice succeeds.
type Revoker interface {
	Revoke(ctx context.Context, e revoke.Entry) (revoke.Event, error)
}

// KeyWithdrawer takes a signing key out of service: it stops signing and
// publishing it and returns until when tokens it signed could be valid.
// Withdrawing a key twice succeeds. keyring.Ring implements it.
type KeyWithdrawer interface {
	Withdraw(ctx context.Context, kid string) (validUntil time.Time, err error)
}

// AccountTokens stores the single-use tokens of mailed links (only their
// hashes) and enqueues the mail that carries them, each change in one
// transaction with its mail, so a message exists exactly when its change
// does. *store.DB implements it.
type AccountTokens interface {
	// CreateUserWithToken is CreateUser (ErrEmailTaken alike) plus
	// IssueAccountToken for the new account (t.UserID is set to its id),
	// in one transaction.
	CreateUserWithToken(ctx context.Context, email, passwordHash string, now time.Time, t AccountToken, mails ...Mail) (User, error)
	// IssueAccountToken stores t, spends every unused token of the same
	// user and purpose (a newer link supersedes older ones) and enqueues
	// mails, in one transaction; ErrNotFound for an unknown t.UserID.
	IssueAccountToken(ctx context.Context, t AccountToken, mails ...Mail) error
	// AccountTokenByHash returns the token with that hash, spent or not,
	// or ErrNotFound.
	AccountTokenByHash(ctx context.Context, hash string) (AccountToken, error)
	// ConsumeAccountToken spends token id if it is unspent and unexpired
	// at now, applies ch to its user and enqueues mails, in one
	// transaction. ErrTokenSpent when the token was spent or expired
	// meanwhile (a concurrent consumer won); ErrEmailTaken when ch takes
	// an address another account holds.
	ConsumeAccountToken(ctx context.Context, id string, now time.Time, ch AccountChange, mails ...Mail) error
	// SpendAccountTokens spends every unspent token of the user (a
	// password change voids pending links).
	SpendAccountTokens(ctx context.Context, userID string, now time.Time) error
	// QueueMail enqueues mails that no change causes (a notice).
	QueueMail(ctx context.Context, now time.Time, mails ...Mail) error
}

// AccountChange is what consuming an account token does to its user
// (AccountTokens.ConsumeAccountToken). Zero fields change nothing.
type AccountChange struct {
	// VerifyEmail marks the address verified at the consumption time.
	VerifyEmail bool
	// Email replaces the address (and marks it verified).
	Email string
	// PasswordHash replaces the password and spends every other unspent
	// token of the user.
	PasswordHash string
	// Replace, for a pending registration: the token's user (an account
	// that never verified its address) is deleted, and this account,
	// verified, created in its place. ErrEmailTaken if that user
	// verified its address meanwhile.
	Replace *User
}
