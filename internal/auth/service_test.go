package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/password"
	"github.com/authmesh/authmesh/internal/ratelimit"
	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token"
)

// env is a service over a real store, real keys and a real revocation
// journal, plus a revocation set fed from the journal as a validator's is.
type env struct {
	svc     *auth.Service
	db      *store.DB
	revs    *sqljournal.Store
	flaky   *flakyRevoker
	cfg     auth.Config
	keys    *token.HMACKeys
	verify  *token.Verifier
	clock   *clock
	clients auth.ClientInfo
}

// flakyRevoker fails while down is set, as a revocation store that is
// unreachable (Redis down) would.
type flakyRevoker struct {
	inner     revoke.Revoker
	down      atomic.Bool
	bulkCalls atomic.Int64 // RevokeMany calls that reached inner
}

func (f *flakyRevoker) Revoke(ctx context.Context, e revoke.Entry) (revoke.Event, error) {
	if f.down.Load() {
		return revoke.Event{}, errors.New("revocation store unreachable")
	}
	return f.inner.Revoke(ctx, e)
}

// RevokeMany passes a bulk revocation through, or fails like Revoke.
func (f *flakyRevoker) RevokeMany(ctx context.Context, es []revoke.Entry) ([]revoke.Event, error) {
	if f.down.Load() {
		return nil, errors.New("revocation store unreachable")
	}
	f.bulkCalls.Add(1)
	return f.inner.(revoke.BulkRevoker).RevokeMany(ctx, es)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// backends runs f against SQLite and PostgreSQL.
func backends(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "sqlite:"+filepath.Join(t.TempDir(), "auth.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, testenv.Postgres(t)) })
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Now().Truncate(time.Second)}
	revs, err := sqljournal.New(db, sqljournal.Config{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := token.NewHMACKeys([]byte("a-test-secret-of-at-least-32-bytes!!"))
	iss, err := token.NewIssuer(keys, token.IssuerConfig{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := token.NewVerifier(keys, token.VerifierConfig{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := password.DefaultParams()
	p.Memory, p.Iterations = 1024, 1
	hasher, err := password.New(password.Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyRevoker{inner: revs}
	cfg := auth.Config{
		Users: db, Sessions: db, Admin: db, Audit: db, Revoker: flaky, Issuer: iss, Verifier: ver, Passwords: hasher,
		PasswordPolicy: password.CheckPolicy, RefreshReuseGrace: 10 * time.Second, Clock: clk.Now,
	}
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, cfg: cfg, db: db, revs: revs, flaky: flaky, keys: keys, verify: ver, clock: clk,
		clients: auth.ClientInfo{IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}}
}

// withLimiter returns the env's service with login limits.
func (e *env) withLimiter(t *testing.T, l auth.Limiter) *auth.Service {
	t.Helper()
	cfg := e.cfg
	cfg.Limiter = l
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// revokedSet replays the journal into a Set, as a validator would hold it.
func (e *env) revokedSet(t *testing.T) *revoke.Set {
	t.Helper()
	snap, err := e.revs.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := revoke.NewSet()
	s.ApplyAll(snap.Entries)
	return s
}

// rejected reports whether a validator holding the journal's state rejects raw.
func (e *env) rejected(t *testing.T, raw string) bool {
	t.Helper()
	c, err := e.verify.Verify(raw, token.TypeAccess)
	if err != nil {
		return true
	}
	_, revoked := e.revokedSet(t).Check(c.ID, c.SessionID, c.Subject, c.IssuedAt)
	return revoked
}

func (e *env) caller(t *testing.T, raw string) auth.Caller {
	t.Helper()
	c, err := e.svc.Authenticate(context.Background(), raw)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return c
}

func (e *env) signup(t *testing.T, email string) auth.LoginResult {
	t.Helper()
	ctx := context.Background()
	if _, err := e.svc.Register(ctx, email, "Test1234!", e.clients); err != nil {
		t.Fatalf("Register: %v", err)
	}
	r, err := e.svc.Login(ctx, email, "Test1234!", e.clients)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return r
}

func wantCode(t *testing.T, err error, code auth.Code) {
	t.Helper()
	if got := auth.ErrorCode(err); err == nil || got != code {
		t.Fatalf("got %v (code %s); want code %s", err, got, code)
	}
}

func TestRegisterAndLogin(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		u, err := e.svc.Register(ctx, "  Alice@Example.COM ", "Test1234!", e.clients)
		if err != nil || u.Email != "alice@example.com" {
			t.Fatalf("Register: got %+v, %v", u, err)
		}
		_, err = e.svc.Register(ctx, "alice@example.com", "Other1234!", e.clients)
		wantCode(t, err, auth.CodeEmailTaken)
		for _, bad := range []struct{ email, pw string }{
			{"not-an-email", "Test1234!"}, {"", "Test1234!"}, {"Bob <b@c.d>", "Test1234!"}, {"b@c.d", "short"},
		} {
			_, err := e.svc.Register(ctx, bad.email, bad.pw, e.clients)
			wantCode(t, err, auth.CodeBadUserInput)
		}
		_, err = e.svc.Login(ctx, "alice@example.com", "wrong-password", e.clients)
		wantCode(t, err, auth.CodeInvalidCredentials)
		_, err2 := e.svc.Login(ctx, "nobody@example.com", "wrong-password", e.clients)
		wantCode(t, err2, auth.CodeInvalidCredentials)
		if auth.ErrorMessage(err) != auth.ErrorMessage(err2) {
			t.Fatalf("unknown email and wrong password differ: %q vs %q", auth.ErrorMessage(err), auth.ErrorMessage(err2))
		}
		r, err := e.svc.Login(ctx, "ALICE@example.com", "Test1234!", e.clients)
		if err != nil || r.UserID != u.ID || r.SessionID == "" {
			t.Fatalf("Login: got %+v, %v", r, err)
		}
		me, err := e.svc.Me(ctx, e.caller(t, r.Token))
		if err != nil || me.Email != "alice@example.com" || me.LastLoginAt.IsZero() {
			t.Fatalf("Me: got %+v, %v", me, err)
		}
		_, err = e.svc.Authenticate(ctx, r.RefreshToken)
		wantCode(t, err, auth.CodeUnauthenticated)
	})
}

func TestSessions(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		laptop := e.signup(t, "s@example.com")
		phone, _ := e.svc.Login(ctx, "s@example.com", "Test1234!", e.clients)
		tablet, _ := e.svc.Login(ctx, "s@example.com", "Test1234!", e.clients)
		other := e.signup(t, "other@example.com")

		list, err := e.svc.Sessions(ctx, e.caller(t, laptop.Token))
		if err != nil || len(list) != 3 {
			t.Fatalf("Sessions: got %d, %v; want 3", len(list), err)
		}
		current := 0
		for _, s := range list {
			if s.Current {
				current++
				if s.ID != laptop.SessionID {
					t.Fatalf("current session: got %s; want %s", s.ID, laptop.SessionID)
				}
			}
			if s.DeviceType == "" || s.IPAddress != "192.0.2.1" {
				t.Fatalf("session details missing: %+v", s)
			}
		}
		if current != 1 {
			t.Fatalf("got %d current sessions; want 1", current)
		}

		// Someone else's session is not found, and nothing is revoked.
		wantCode(t, e.svc.RevokeSession(ctx, e.caller(t, other.Token), phone.SessionID), auth.CodeNotFound)
		if e.rejected(t, phone.Token) {
			t.Fatal("another user revoked my session")
		}
		if err := e.svc.RevokeSession(ctx, e.caller(t, laptop.Token), phone.SessionID); err != nil {
			t.Fatal(err)
		}
		if !e.rejected(t, phone.Token) || e.rejected(t, laptop.Token) {
			t.Fatal("revokeSession: phone should be rejected, laptop kept")
		}
		_, err = e.svc.Refresh(ctx, phone.RefreshToken, e.clients)
		wantCode(t, err, auth.CodeUnauthenticated)

		if err := e.svc.Logout(ctx, e.caller(t, tablet.Token)); err != nil {
			t.Fatal(err)
		}
		if !e.rejected(t, tablet.Token) || e.rejected(t, laptop.Token) {
			t.Fatal("logout: tablet should be rejected, laptop kept")
		}
		if _, err := e.svc.Authenticate(ctx, tablet.Token); err == nil {
			t.Fatal("logged-out token still authenticates at the service")
		}

		if err := e.svc.LogoutAll(ctx, e.caller(t, laptop.Token)); err != nil {
			t.Fatal(err)
		}
		if !e.rejected(t, laptop.Token) || e.rejected(t, other.Token) {
			t.Fatal("logoutAll: laptop should be rejected, other user kept")
		}
		// Logging in again in the same second works.
		again, err := e.svc.Login(ctx, "s@example.com", "Test1234!", e.clients)
		if err != nil || e.rejected(t, again.Token) {
			t.Fatalf("login after logoutAll: %v, rejected=%v", err, e.rejected(t, again.Token))
		}
	})
}

func TestChangePassword(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		cur := e.signup(t, "p@example.com")
		old, _ := e.svc.Login(ctx, "p@example.com", "Test1234!", e.clients)
		c := e.caller(t, cur.Token)

		wantCode(t, e.svc.ChangePassword(ctx, c, "wrong-old", "NewPass1234!"), auth.CodeInvalidCredentials)
		wantCode(t, e.svc.ChangePassword(ctx, c, "Test1234!", "short"), auth.CodeBadUserInput)
		if err := e.svc.ChangePassword(ctx, c, "Test1234!", "NewPass1234!"); err != nil {
			t.Fatal(err)
		}
		if !e.rejected(t, old.Token) || e.rejected(t, cur.Token) {
			t.Fatal("other session should be rejected, current kept")
		}
		if _, err := e.svc.Refresh(ctx, cur.RefreshToken, e.clients); err != nil {
			t.Fatalf("current session's refresh after password change: %v", err)
		}
		_, err := e.svc.Login(ctx, "p@example.com", "Test1234!", e.clients)
		wantCode(t, err, auth.CodeInvalidCredentials)
		if _, err := e.svc.Login(ctx, "p@example.com", "NewPass1234!", e.clients); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefreshRotation(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		r := e.signup(t, "r@example.com")

		p1, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients)
		if err != nil || p1.RefreshToken == r.RefreshToken || p1.Token == "" {
			t.Fatalf("first refresh: %+v, %v", p1, err)
		}
		// Within the grace window the previous token yields the same chain.
		again, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients)
		if err != nil || again.RefreshToken != p1.RefreshToken {
			t.Fatalf("grace refresh: got %v; want the chain's current token", err)
		}
		e.clock.Add(time.Second)
		p2, err := e.svc.Refresh(ctx, p1.RefreshToken, e.clients)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(11 * time.Second)
		// The original token is two generations old: theft.
		_, err = e.svc.Refresh(ctx, r.RefreshToken, e.clients)
		wantCode(t, err, auth.CodeRefreshReused)
		if !e.rejected(t, p2.Token) {
			t.Fatal("theft detection did not revoke the session's access tokens")
		}
		_, err = e.svc.Refresh(ctx, p2.RefreshToken, e.clients)
		wantCode(t, err, auth.CodeUnauthenticated)
		_, err = e.svc.Refresh(ctx, "garbage", e.clients)
		wantCode(t, err, auth.CodeUnauthenticated)
	})
}

func TestRefreshReuseAfterGrace(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	r := e.signup(t, "g@example.com")
	p1, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(11 * time.Second)
	_, err = e.svc.Refresh(ctx, r.RefreshToken, e.clients)
	wantCode(t, err, auth.CodeRefreshReused)
	if !e.rejected(t, p1.Token) {
		t.Fatal("reuse after the grace window must end the session")
	}
}

func TestConcurrentRefresh(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		r := e.signup(t, "c@example.com")
		const n = 20
		results := make([]auth.TokenPair, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = e.svc.Refresh(ctx, r.RefreshToken, e.clients)
			}()
		}
		wg.Wait()
		chains := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("refresh %d: %v", i, errs[i])
			}
			chains[results[i].RefreshToken] = true
		}
		if len(chains) != 1 {
			t.Fatalf("got %d distinct refresh tokens; want exactly one chain", len(chains))
		}
		if _, err := e.svc.Refresh(ctx, results[0].RefreshToken, e.clients); err != nil {
			t.Fatalf("the chain does not continue: %v", err)
		}
	})
}

func TestRefreshRacingRevoke(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		for round := range 10 {
			r := e.signup(t, "race"+string(rune('a'+round))+"@example.com")
			c := e.caller(t, r.Token)
			var pair auth.TokenPair
			var refreshErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); pair, refreshErr = e.svc.Refresh(ctx, r.RefreshToken, e.clients) }()
			go func() {
				defer wg.Done()
				if err := e.svc.RevokeSession(ctx, c, r.SessionID); err != nil {
					t.Error(err)
				}
			}()
			wg.Wait()
			if refreshErr == nil && !e.rejected(t, pair.Token) {
				t.Fatalf("round %d: refresh racing revoke left a usable access token", round)
			}
			if _, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients); err == nil {
				t.Fatalf("round %d: revoked session still refreshes", round)
			}
		}
	})
}

func TestErrorsNeverLeakCauses(t *testing.T) {
	err := &auth.Error{Code: auth.CodeInternal, Message: "internal error", Err: errors.New("pq: relation users does not exist")}
	if got := auth.ErrorMessage(err); got != "internal error" {
		t.Fatalf("got %q", got)
	}
	if got := auth.ErrorMessage(errors.New("boom")); got != "internal error" || auth.ErrorCode(errors.New("x")) != auth.CodeInternal {
		t.Fatalf("unclassified errors must be internal; got %q", got)
	}
}

// TestRevocationStoreDownNothingHalfApplied: when revocations cannot be
// recorded, every operation fails without ending anything in the database,
// and a retry once the store is back completes it.
func TestRevocationStoreDownNothingHalfApplied(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	cur := e.signup(t, "down@example.com")
	other, _ := e.svc.Login(ctx, "down@example.com", "Test1234!", e.clients)
	c := e.caller(t, cur.Token)

	e.flaky.down.Store(true)
	steps := []struct {
		name string
		do   func() error
	}{
		{"logout", func() error { return e.svc.Logout(ctx, c) }},
		{"revokeSession", func() error { return e.svc.RevokeSession(ctx, c, other.SessionID) }},
		{"logoutAll", func() error { return e.svc.LogoutAll(ctx, c) }},
		{"changePassword", func() error { return e.svc.ChangePassword(ctx, c, "Test1234!", "Changed-5678") }},
	}
	for _, st := range steps {
		wantCode(t, st.do(), auth.CodeInternal)
		if _, err := e.svc.Authenticate(ctx, cur.Token); err != nil {
			t.Fatalf("%s failed but ended the session anyway: %v", st.name, err)
		}
		if _, err := e.svc.Authenticate(ctx, other.Token); err != nil {
			t.Fatalf("%s failed but ended another session anyway: %v", st.name, err)
		}
	}

	e.flaky.down.Store(false)
	// Nothing changed when ending sessions failed (the old password still
	// works): repeating the same request completes it.
	if err := e.svc.ChangePassword(ctx, c, "Test1234!", "Changed-5678"); err != nil {
		t.Fatalf("retrying changePassword: %v", err)
	}
	if !e.rejected(t, other.Token) || e.rejected(t, cur.Token) {
		t.Fatal("retried changePassword: other session should be rejected, current kept")
	}
	if err := e.svc.Logout(ctx, c); err != nil {
		t.Fatalf("retrying logout: %v", err)
	}
	if !e.rejected(t, cur.Token) {
		t.Fatal("retried logout did not revoke the token")
	}
}

// TestChangePasswordGuessingIsLimited: a stolen access token cannot be used
// to guess the account's password without limit.
func TestChangePasswordGuessingIsLimited(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	lim, err := ratelimit.NewLogin(ratelimit.NewMemory(e.clock.Now, 0), ratelimit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = e.withLimiter(t, lim)
	ctx := context.Background()
	r := e.signup(t, "guess@example.com")
	c := e.caller(t, r.Token)
	for i := 1; i <= 6; i++ {
		err := e.svc.ChangePassword(ctx, c, "guess-"+string(rune('a'+i)), "Changed-5678")
		want := auth.CodeInvalidCredentials
		if i == 6 {
			want = auth.CodeRateLimited
		}
		wantCode(t, err, want)
	}
}
