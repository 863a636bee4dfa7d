package auth

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error for API clients. The list is closed: every error
// the service returns maps to exactly one code, and anything unclassified is
// CodeInternal.
type Code string

// The codes, as they appear in GraphQL extensions.code.
const (
	CodeUnauthenticated    Code = "UNAUTHENTICATED"
	CodeBadUserInput       Code = "BAD_USER_INPUT"
	CodeEmailTaken         Code = "EMAIL_TAKEN"
	CodeInvalidCredentials Code = "INVALID_CREDENTIALS"
	CodeRateLimited        Code = "RATE_LIMITED"
	CodeNotFound           Code = "NOT_FOUND"
	CodeRefreshReused      Code = "REFRESH_TOKEN_REUSED"
	CodeAccountDisabled    Code = "ACCOUNT_DISABLED"
	// CodeInvalidToken: a mailed link's token is unknown, tampered with,
	// already used or superseded by a newer one.
	CodeInvalidToken Code = "INVALID_TOKEN"
	// CodeTokenExpired: a mailed link's token has expired.
	CodeTokenExpired Code = "TOKEN_EXPIRED"
	// CodeEmailNotVerified: login refused to an account whose address is
	// not verified (REQUIRE_VERIFIED_EMAIL).
	CodeEmailNotVerified Code = "EMAIL_NOT_VERIFIED"
	CodeInternal         Code = "INTERNAL"
)

// Error is the service's error type: a code for machines, a message a person
// can act on, and the underlying cause for logs only.
type Error struct {
	Code       Code
	Message    string        // safe to show to the caller
	RetryAfter time.Duration // set with CodeRateLimited
	Err        error         // the cause; never shown to callers
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("auth: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("auth: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of err, or CodeInternal when err carries none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err; unclassified errors
// get "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error"
}

// Errors the service's storage returns (Users, Sessions). Check them with
// errors.Is; the service turns them into coded errors.
var (
	// ErrNotFound: no user or session with that id or email.
	ErrNotFound = errors.New("auth: not found")
	// ErrEmailTaken: CreateUser was given an email already registered.
	ErrEmailTaken = errors.New("auth: email already registered")
	// ErrTokenSpent: ConsumeAccountToken found the token already spent or
	// expired.
	ErrTokenSpent = errors.New("auth: account token spent")
)

// ErrSessionEnded is wrapped by the CodeUnauthenticated error Authenticate
// returns for a genuine, unexpired token whose session has ended; the
// Caller it returns alongside says how (Caller.Ended).
var ErrSessionEnded = errors.New("auth: session has ended")

func newError(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

func internal(op string, err error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}
