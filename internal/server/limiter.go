package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/ratelimit"
)

// Limits are the login and registration limits (docs/CONFIGURATION.md), each "N/period"
// in the environment: LOGIN_LIMIT_ACCOUNT_CLIENT, LOGIN_LIMIT_ACCOUNT,
// LOGIN_LIMIT_CLIENT, REGISTER_LIMIT, MAIL_LIMIT_ADDRESS, MAIL_LIMIT_CLIENT.
type Limits struct {
	AccountClient, Account, Client, Register ratelimit.Limit
	// MailAddress and MailClient bound the verification and reset mails
	// requested per address and per client IP.
	MailAddress, MailClient ratelimit.Limit
}

// defaultLimits are package ratelimit's defaults, their one definition.
func defaultLimits() Limits {
	return Limits{
		AccountClient: ratelimit.DefaultAccountClient,
		Account:       ratelimit.DefaultAccount,
		Client:        ratelimit.DefaultClient,
		Register:      ratelimit.DefaultRegister,
		MailAddress:   ratelimit.DefaultMailAddress,
		MailClient:    ratelimit.DefaultMailClient,
	}
}

// parseLimit reads "N/period" such as "5/15m".
func parseLimit(name, v string) (ratelimit.Limit, error) {
	n, p, ok := strings.Cut(strings.TrimSpace(v), "/")
	rate, err1 := strconv.Atoi(strings.TrimSpace(n))
	period, err2 := time.ParseDuration(strings.TrimSpace(p))
	if !ok || err1 != nil || err2 != nil || rate < 1 || period <= 0 {
		return ratelimit.Limit{}, fmt.Errorf("%s=%q must look like 5/15m (attempts per period)", name, v)
	}
	return ratelimit.Limit{Rate: rate, Period: period}, nil
}

// loadLimits overrides the defaults from the environment.
func loadLimits(getenv func(string) string) (Limits, error) {
	l := defaultLimits()
	for name, dst := range map[string]*ratelimit.Limit{
		"LOGIN_LIMIT_ACCOUNT_CLIENT": &l.AccountClient, "LOGIN_LIMIT_ACCOUNT": &l.Account,
		"LOGIN_LIMIT_CLIENT": &l.Client, "REGISTER_LIMIT": &l.Register,
		"MAIL_LIMIT_ADDRESS": &l.MailAddress, "MAIL_LIMIT_CLIENT": &l.MailClient,
	} {
		if v := getenv(name); strings.TrimSpace(v) != "" {
			lim, err := parseLimit(name, v)
			if err != nil {
				return l, err
			}
			*dst = lim
		}
	}
	return l, nil
}

// newLimiter builds the limits on Redis when configured (shared by every
// replica), in process memory otherwise; nil when RATE_LIMITS=off.
func (s *Server) newLimiter() (auth.Limiter, error) {
	if !s.cfg.RateLimits {
		s.log.Warn("RATE_LIMITS=off: login and registration are not rate limited")
		return nil, nil
	}
	var store ratelimit.Store = ratelimit.NewMemory(nil, 0)
	if s.rdb != nil {
		rs, err := ratelimit.NewRedis(s.rdb, s.cfg.RedisPrefix+"ratelimit:")
		if err != nil {
			return nil, fmt.Errorf("rate limits: %w", err)
		}
		store = rs
	}
	l := s.cfg.Limits
	lim, err := ratelimit.NewLogin(store, ratelimit.Config{
		AccountClient: l.AccountClient, Account: l.Account, Client: l.Client, Register: l.Register,
		MailAddress: l.MailAddress, MailClient: l.MailClient,
	})
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	return lim, nil
}
