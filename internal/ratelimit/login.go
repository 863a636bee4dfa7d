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
	// AccountClient bounds failed logins for one email from one client IP
	// on a device the account does not know. Default 5 per 15 minutes. A
	// successful login resets it.
	AccountClient Limit
	// AccountNetwork bounds the failed logins for one email that one
	// client network (an IPv4 /24, an IPv6 /48) may charge to the account
	// from devices the account does not know. Default 10 per hour: half of
	// Account, so keeping an account's budget spent takes at least two
	// networks, and more the more the attacker spreads.
	AccountNetwork Limit
	// Account bounds failed logins for one email from all clients on
	// devices the account does not know. Default 20 per hour: after the
	// burst, attempts are spaced (one every 3 minutes), never stopped for
	// the hour.
	Account Limit
	// Device bounds failed logins for one email from one device the
	// account knows (one that presented a valid device token, or the
	// session of a changePassword). Default 5 per 15 minutes; a success
	// resets it. Failures elsewhere never touch it, so the owner on a known
	// device cannot be locked out by anyone else.
	Device Limit
	// Client bounds login attempts (failed or not) from one client IP,
	// and likewise from one known device (or changePassword session)
	// whatever its address. Default 100 per minute.
	Client Limit
	// Register bounds registrations from one client IP. Default 100 per
	// hour (see DefaultRegister).
	Register Limit
	// MailAddress bounds the account mails (a verification link, a reset
	// link) requested for one address, from all clients. Default 5 per
	// hour.
	MailAddress Limit
	// MailClient bounds the account mails requested from one client IP,
	// for any address. Default 20 per hour.
	MailClient Limit
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
	DefaultAccountClient  = Limit{Rate: 5, Period: 15 * time.Minute}
	DefaultAccountNetwork = Limit{Rate: 10, Period: time.Hour}
	DefaultAccount        = Limit{Rate: 20, Period: time.Hour}
	DefaultDevice         = Limit{Rate: 5, Period: 15 * time.Minute}
	DefaultClient         = Limit{Rate: 100, Period: time.Minute}
	DefaultRegister       = Limit{Rate: 100, Period: time.Hour}
	DefaultMailAddress    = Limit{Rate: 5, Period: time.Hour}
	DefaultMailClient     = Limit{Rate: 20, Period: time.Hour}
)

// Which limit refused, as Decision.Limit.
const (
	LimitAccountClient  = "account+client"
	LimitAccountNetwork = "account+network"
	LimitAccount        = "account"
	LimitDevice         = "account+device"
	LimitClient         = "client"
	LimitRegister       = "register"
	LimitMailAddress    = "mail+address"
	LimitMailClient     = "mail+client"
)

// Decision answers whether an attempt may proceed.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration // when refused: until the next attempt may succeed
	Limit      string        // when refused: which limit (Limit* constants)
}

// Attempt is one login attempt (or one check of a password by its owner).
type Attempt struct {
	Email string // as typed; normalised and hashed for the keys
	IP    string // the client address (or any other client key)
	// Device identifies a device the account knows (verified by the
	// caller), or is empty. A known device is charged on its own budget
	// instead of the account's.
	Device string
}

// Login applies the login and registration limits on a Store. It is safe
// for concurrent use.
//
// Usage per login: Reserve before verifying the password (refuse when not
// Allowed), then Succeeded if the password was right. Reserve charges the
// attempt as a failure up front, so concurrent attempts cannot all pass a
// budget that only one of them fits in; Succeeded gives the charge back.
//
// Errors mean the Store is unreachable (errors.Is ErrUnavailable); the
// caller decides. authmesh's service fails closed (refuses with an internal
// error) rather than let unlimited guessing through while Redis is down.
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
		{&cfg.AccountNetwork, DefaultAccountNetwork, LimitAccountNetwork},
		{&cfg.Account, DefaultAccount, LimitAccount},
		{&cfg.Device, DefaultDevice, LimitDevice},
		{&cfg.Client, DefaultClient, LimitClient},
		{&cfg.Register, DefaultRegister, LimitRegister},
		{&cfg.MailAddress, DefaultMailAddress, LimitMailAddress},
		{&cfg.MailClient, DefaultMailClient, LimitMailClient},
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

// bucket is one key and its limit.
type bucket struct {
	key   string
	limit Limit
	name  string
}

// accountBuckets are the failure budgets an attempt is charged to.
func (l *Login) accountBuckets(a Attempt) []bucket {
	e := emailPart(a.Email)
	if a.Device != "" {
		return []bucket{{"acctdev:" + e + ":" + hashPart(a.Device), l.cfg.Device, LimitDevice}}
	}
	return []bucket{
		{"acctip:" + e + ":" + ipPart(a.IP), l.cfg.AccountClient, LimitAccountClient},
		{"acctnet:" + e + ":" + networkPart(a.IP), l.cfg.AccountNetwork, LimitAccountNetwork},
		{"acct:" + e, l.cfg.Account, LimitAccount},
	}
}

// Reserve decides whether a login attempt may proceed. It counts the
// attempt against the client's limit (its address's, and its device's
// when it has one) and, when allowed, charges it as a
// failure to the account's budgets before the password is checked. A
// refused attempt is not charged to the account's budgets.
func (l *Login) Reserve(ctx context.Context, a Attempt) (Decision, error) {
	res, err := l.store.Take(ctx, clientKey(a.IP), l.cfg.Client)
	if err != nil || !res.Allowed {
		return refused(res, LimitClient), err
	}
	// A device (or session) is a client too, whatever address it comes
	// from: a stolen access token used from many addresses is bounded.
	if a.Device != "" {
		res, err := l.store.Take(ctx, "dev:"+hashPart(a.Device), l.cfg.Client)
		if err != nil || !res.Allowed {
			return refused(res, LimitClient), err
		}
	}
	buckets := l.accountBuckets(a)
	for i, b := range buckets {
		res, err := l.store.Take(ctx, b.key, b.limit)
		if err == nil && res.Allowed {
			continue
		}
		// Give back what this attempt already took: a refusal costs the
		// account nothing.
		for _, taken := range buckets[:i] {
			if rerr := l.store.Refund(ctx, taken.key, taken.limit); rerr != nil && err == nil {
				err = rerr
			}
		}
		return refused(res, b.name), err
	}
	return Decision{Allowed: true}, nil
}

// Succeeded gives back the charges of a reserved attempt whose password was
// right, and forgets the failures of its client (or device) on the account.
func (l *Login) Succeeded(ctx context.Context, a Attempt) error {
	buckets := l.accountBuckets(a)
	if err := l.store.Reset(ctx, buckets[0].key); err != nil {
		return err
	}
	for _, b := range buckets[1:] {
		if err := l.store.Refund(ctx, b.key, b.limit); err != nil {
			return err
		}
	}
	return nil
}

// Register decides whether a registration from ip may proceed, counting it.
func (l *Login) Register(ctx context.Context, ip string) (Decision, error) {
	res, err := l.store.Take(ctx, "reg:"+ipPart(ip), l.cfg.Register)
	if err != nil || !res.Allowed {
		return refused(res, LimitRegister), err
	}
	return Decision{Allowed: true}, nil
}

// Mail decides whether a request for an account mail (a verification or
// reset link) for email from ip may proceed, counting it against the
// client's budget and the address's. The address is charged whether or
// not it has an account, so the answer tells nothing about one.
func (l *Login) Mail(ctx context.Context, email, ip string) (Decision, error) {
	res, err := l.store.Take(ctx, "mailip:"+ipPart(ip), l.cfg.MailClient)
	if err != nil || !res.Allowed {
		return refused(res, LimitMailClient), err
	}
	res, err = l.store.Take(ctx, "mail:"+emailPart(email), l.cfg.MailAddress)
	if err != nil || !res.Allowed {
		return refused(res, LimitMailAddress), err
	}
	return Decision{Allowed: true}, nil
}

func refused(res Result, limit string) Decision {
	if res.Allowed {
		return Decision{}
	}
	return Decision{RetryAfter: res.RetryAfter, Limit: limit}
}

func clientKey(ip string) string { return "ip:" + ipPart(ip) }

// emailPart is a hash of the normalised email: keys never hold a raw one.
func emailPart(email string) string {
	return hashPart(strings.ToLower(strings.TrimSpace(email)))
}

func hashPart(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// ipPart is the canonical address of one client, or a hash of anything
// else. An IPv6 client is its /64: a single subscriber or host usually
// holds a whole /64, and limiting per /128 would give it 2^64 budgets.
func ipPart(ip string) string { return prefixPart(ip, 32, 64) }

// networkPart is the client's network: an IPv4 /24 or an IPv6 /48.
func networkPart(ip string) string { return prefixPart(ip, 24, 48) }

func prefixPart(ip string, bits4, bits6 int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "x" + hashPart(ip)
	}
	a = a.Unmap().WithZone("")
	bits := bits4
	if a.Is6() {
		bits = bits6
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return "x" + hashPart(ip)
	}
	if bits == a.BitLen() {
		return a.String()
	}
	return p.String()
}
