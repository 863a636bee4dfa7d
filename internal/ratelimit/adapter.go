package ratelimit

import (
	"context"
	"time"
)

// The methods below fit the auth service's Limiter interface: a refused
// attempt is a positive retryAfter (at least a millisecond), an allowed one
// zero.

// ReserveLogin is Reserve as a retry time.
func (l *Login) ReserveLogin(ctx context.Context, email, ip, device string) (retryAfter time.Duration, err error) {
	d, err := l.Reserve(ctx, Attempt{Email: email, IP: ip, Device: device})
	return retryOf(d), err
}

// LoginSucceeded is Succeeded.
func (l *Login) LoginSucceeded(ctx context.Context, email, ip, device string) error {
	return l.Succeeded(ctx, Attempt{Email: email, IP: ip, Device: device})
}

// CheckRegister is Register as a retry time.
func (l *Login) CheckRegister(ctx context.Context, ip string) (retryAfter time.Duration, err error) {
	d, err := l.Register(ctx, ip)
	return retryOf(d), err
}

// CheckMail is Mail as a retry time.
func (l *Login) CheckMail(ctx context.Context, email, ip string) (retryAfter time.Duration, err error) {
	d, err := l.Mail(ctx, email, ip)
	return retryOf(d), err
}

func retryOf(d Decision) time.Duration {
	if d.Allowed {
		return 0
	}
	return max(d.RetryAfter, time.Millisecond)
}
