package ratelimit

import (
	"context"
	"time"
)

// The methods below fit the auth service's Limiter interface: a refused
// attempt is a positive retryAfter (at least a millisecond), an allowed one
// zero.

// CheckLogin is Check as a retry time.
func (l *Login) CheckLogin(ctx context.Context, email, ip string) (retryAfter time.Duration, err error) {
	d, err := l.Check(ctx, email, ip)
	return retryOf(d), err
}

// LoginFailed is Failed.
func (l *Login) LoginFailed(ctx context.Context, email, ip string) error {
	return l.Failed(ctx, email, ip)
}

// LoginSucceeded is Succeeded.
func (l *Login) LoginSucceeded(ctx context.Context, email, ip string) error {
	return l.Succeeded(ctx, email, ip)
}

// CheckRegister is Register as a retry time.
func (l *Login) CheckRegister(ctx context.Context, ip string) (retryAfter time.Duration, err error) {
	d, err := l.Register(ctx, ip)
	return retryOf(d), err
}

func retryOf(d Decision) time.Duration {
	if d.Allowed {
		return 0
	}
	return max(d.RetryAfter, time.Millisecond)
}
