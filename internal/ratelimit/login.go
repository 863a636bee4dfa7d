package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"
)

// Config sets the limits. A zero Limit takes its default.
type Config struct {
	// AccountClient bounds failed logins for one email from one client IP.
	// Default 5 per 15 minutes. A successful login resets it.
	AccountClient Limit
	// Account bounds failed logins for one email from all clients. Default
	// 20 per hour: after the burst, attempts are spaced (one every 3
	// minutes), never stopped for the hour.
	Account Limit
	// Client bounds login attempts (failed or not) from one client IP.
	// Default 100 per minute.
	Client Limit
	// Register bounds registrations from one client IP. Default 100 per
	// hour (see DefaultRegister).
	Register Limit
}

// Defaults of Config, and their one definition: the auth service's
// configuration, its documentation (docs/CONFIGURATION.md, checked by a
// test) and the tests use these.
//
// DefaultRegister is generous on purpose. A per-IP limit cannot stop
// registrations spread over many addresses, while a tight one locks out
// every user behind one address: an office or carrier-grade NAT, or every
// client at once when a proxy is not listed in TRUSTED_PROXIES. 100 an hour
// still bounds the password-hashing work one address can cause to well
// below what the per-client login limit already allows.
var (
	DefaultAccountClient = Limit{Rate: 5, Period: 15 * time.Minute}
	DefaultAccount       = Limit{Rate: 20, Period: time.Hour}
	DefaultClient        = Limit{Rate: 100, Period: time.Minute}
	DefaultRegister      = Limit{Rate: 100, Period: time.Hour}
)

// Which limit refused, as Decision.Limit.
const (
	LimitAccountClient = "account+client"
	LimitAccount       = "account"
	LimitClient        = "client"
	LimitRegister      = "register"
)

// Decision answers whether an attempt may proceed.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration // when refused: until the next attempt may succeed
	Limit      string        // when refused: which limit (Limit* constants)
}

// Login applies the login and registration limits on a Store. It is safe
// for concurrent use.
//
// Usage per login: Check before verifying the password (refuse when not
// Allowed), then Failed or Succeeded. Only failures count toward the two
// account limits, so a client that fails on one account can still log into
// another, and an owner elsewhere is at most slowed.
//
// Errors mean the Store is unreachable (errors.Is ErrUnavailable); the
// caller decides. authmesh's service should fail closed (refuse with an
// internal error) rather than let unlimited guessing through while Redis is
// down.
type Login struct {
	store Store
	cfg   Config
}

// NewLogin returns the limits of cfg (defaults filled) on store.
func NewLogin(store Store, cfg Config) (*Login, error) {
	if store == nil {
		return nil, errors.New("ratelimit: nil Store")
	}
	for _, f := range []struct {
		l    *Limit
		def  Limit
		name string
	}{
		{&cfg.AccountClient, DefaultAccountClient, LimitAccountClient},
		{&cfg.Account, DefaultAccount, LimitAccount},
		{&cfg.Client, DefaultClient, LimitClient},
		{&cfg.Register, DefaultRegister, LimitRegister},
	} {
		if *f.l == (Limit{}) {
			*f.l = f.def
		}
		if err := f.l.validate(f.name); err != nil {
			return nil, err
		}
	}
	return &Login{store: store, cfg: cfg}, nil
}

// Check decides whether a login attempt for email from ip may proceed. It
// counts the attempt against the client's limit and looks at, without
// consuming, the account's failure budgets.
func (l *Login) Check(ctx context.Context, email, ip string) (Decision, error) {
	res, err := l.store.Take(ctx, clientKey(ip), l.cfg.Client)
	if err != nil || !res.Allowed {
		return refused(res, LimitClient), err
	}
	if res, err = l.store.Peek(ctx, accountClientKey(email, ip), l.cfg.AccountClient); err != nil || !res.Allowed {
		return refused(res, LimitAccountClient), err
	}
	if res, err = l.store.Peek(ctx, accountKey(email), l.cfg.Account); err != nil || !res.Allowed {
		return refused(res, LimitAccount), err
	}
	return Decision{Allowed: true}, nil
}

// Failed records a failed login (wrong password, unknown account) for email
// from ip.
func (l *Login) Failed(ctx context.Context, email, ip string) error {
	if _, err := l.store.Take(ctx, accountClientKey(email, ip), l.cfg.AccountClient); err != nil {
		return err
	}
	_, err := l.store.Take(ctx, accountKey(email), l.cfg.Account)
	return err
}

// Succeeded records a successful login: the account+client failures are
// forgotten.
func (l *Login) Succeeded(ctx context.Context, email, ip string) error {
	return l.store.Reset(ctx, accountClientKey(email, ip))
}

// Register decides whether a registration from ip may proceed, counting it.
func (l *Login) Register(ctx context.Context, ip string) (Decision, error) {
	res, err := l.store.Take(ctx, "reg:"+ipPart(ip), l.cfg.Register)
	if err != nil || !res.Allowed {
		return refused(res, LimitRegister), err
	}
	return Decision{Allowed: true}, nil
}

func refused(res Result, limit string) Decision {
	if res.Allowed {
		return Decision{}
	}
	return Decision{RetryAfter: res.RetryAfter, Limit: limit}
}

// Keys never hold a raw email: it is normalised and hashed.
func accountKey(email string) string { return "acct:" + emailPart(email) }

func accountClientKey(email, ip string) string {
	return "acctip:" + emailPart(email) + ":" + ipPart(ip)
}

func clientKey(ip string) string { return "ip:" + ipPart(ip) }

func emailPart(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:16])
}

// ipPart is the canonical address, or a hash of anything else.
func ipPart(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		return a.Unmap().WithZone("").String()
	}
	sum := sha256.Sum256([]byte(ip))
	return "x" + hex.EncodeToString(sum[:8])
}
