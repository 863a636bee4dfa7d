package graph_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph"
)

// fakeService is an in-memory auth service: enough behaviour to exercise
// every resolver, plus knobs to make a method fail or panic.
type fakeService struct {
	mu        sync.Mutex
	now       time.Time
	seq       int
	users     map[string]*fakeUser   // by email
	access    map[string]auth.Caller // access token -> caller
	refresh   map[string]string      // refresh token -> session id
	sessions  map[string]*fakeSession
	fail      map[string]error // method -> error to return
	panics    map[string]any   // method -> value to panic with
	authCalls int
	clients   []auth.ClientInfo // every ClientInfo received
	spent     map[string]bool   // account tokens consumed (fake_lifecycle_test.go)
}

type fakeUser struct {
	user     auth.User
	password string
}

type fakeSession struct {
	userID  string
	session auth.Session
}

var _ graph.Service = (*fakeService)(nil)

func newFake() *fakeService {
	return &fakeService{
		now:      time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		users:    map[string]*fakeUser{},
		access:   map[string]auth.Caller{},
		refresh:  map[string]string{},
		sessions: map[string]*fakeSession{},
		fail:     map[string]error{},
		panics:   map[string]any{},
	}
}

func (f *fakeService) enter(method string) error {
	if v, ok := f.panics[method]; ok {
		panic(v)
	}
	return f.fail[method]
}

func (f *fakeService) next(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%d", prefix, f.seq)
}

func unauthenticated() error {
	return &auth.Error{Code: auth.CodeUnauthenticated, Message: "invalid or expired token"}
}

func (f *fakeService) Register(_ context.Context, email, password string, c auth.ClientInfo) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, c)
	if err := f.enter("Register"); err != nil {
		return auth.User{}, err
	}
	if _, ok := f.users[email]; ok {
		return auth.User{}, &auth.Error{Code: auth.CodeEmailTaken, Message: "email already registered"}
	}
	u := &fakeUser{user: auth.User{ID: f.next("user"), Email: email, CreatedAt: f.now}, password: password}
	f.users[email] = u
	return u.user, nil
}

func (f *fakeService) Login(_ context.Context, email, password string, c auth.ClientInfo) (auth.LoginResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, c)
	if err := f.enter("Login"); err != nil {
		return auth.LoginResult{}, err
	}
	u, ok := f.users[email]
	if !ok || u.password != password {
		return auth.LoginResult{}, &auth.Error{Code: auth.CodeInvalidCredentials, Message: "invalid email or password"}
	}
	u.user.LastLoginAt = f.now
	sid := f.next("session")
	f.sessions[sid] = &fakeSession{userID: u.user.ID, session: auth.Session{
		ID: sid, DeviceType: "desktop", DeviceName: "Firefox on Linux", IPAddress: c.IP,
		UserAgent: c.UserAgent, CreatedAt: f.now, LastUsedAt: f.now,
	}}
	at, rt := f.next("access"), f.next("refresh")
	f.access[at] = auth.Caller{UserID: u.user.ID, SessionID: sid, TokenID: at, ExpiresAt: f.now.Add(15 * time.Minute)}
	f.refresh[rt] = sid
	device := c.DeviceToken
	if device == "" {
		device = f.next("device")
	}
	return auth.LoginResult{
		Token: at, RefreshToken: rt, UserID: u.user.ID, Email: email, SessionID: sid, ExpiresAt: f.now.Add(15 * time.Minute),
		DeviceToken: device, DeviceExpiresAt: f.now.Add(360 * time.Hour),
	}, nil
}

func (f *fakeService) Authenticate(_ context.Context, token string) (auth.Caller, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	if err := f.enter("Authenticate"); err != nil {
		return auth.Caller{}, err
	}
	c, ok := f.access[token]
	if !ok || f.sessions[c.SessionID] == nil {
		return auth.Caller{}, unauthenticated()
	}
	return c, nil
}

func (f *fakeService) Logout(_ context.Context, c auth.Caller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Logout"); err != nil {
		return err
	}
	delete(f.sessions, c.SessionID)
	return nil
}

func (f *fakeService) LogoutAll(_ context.Context, c auth.Caller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("LogoutAll"); err != nil {
		return err
	}
	for id, s := range f.sessions {
		if s.userID == c.UserID {
			delete(f.sessions, id)
		}
	}
	return nil
}

func (f *fakeService) Refresh(_ context.Context, rt string, c auth.ClientInfo) (auth.TokenPair, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, c)
	if err := f.enter("Refresh"); err != nil {
		return auth.TokenPair{}, err
	}
	sid, ok := f.refresh[rt]
	if !ok || f.sessions[sid] == nil {
		return auth.TokenPair{}, unauthenticated()
	}
	delete(f.refresh, rt)
	at, nrt := f.next("access"), f.next("refresh")
	f.access[at] = auth.Caller{UserID: f.sessions[sid].userID, SessionID: sid, TokenID: at}
	f.refresh[nrt] = sid
	return auth.TokenPair{Token: at, RefreshToken: nrt, ExpiresAt: f.now.Add(15 * time.Minute)}, nil
}

func (f *fakeService) ChangePassword(_ context.Context, c auth.Caller, oldPassword, newPassword string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ChangePassword"); err != nil {
		return err
	}
	for _, u := range f.users {
		if u.user.ID != c.UserID {
			continue
		}
		if u.password != oldPassword {
			return &auth.Error{Code: auth.CodeInvalidCredentials, Message: "current password is wrong"}
		}
		u.password = newPassword
		for id, s := range f.sessions {
			if s.userID == c.UserID && id != c.SessionID {
				delete(f.sessions, id)
			}
		}
		return nil
	}
	return unauthenticated()
}

func (f *fakeService) RevokeSession(_ context.Context, c auth.Caller, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RevokeSession"); err != nil {
		return err
	}
	s, ok := f.sessions[id]
	if !ok || s.userID != c.UserID {
		return &auth.Error{Code: auth.CodeNotFound, Message: "no such session"}
	}
	delete(f.sessions, id)
	return nil
}

func (f *fakeService) Me(_ context.Context, c auth.Caller) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Me"); err != nil {
		return auth.User{}, err
	}
	for _, u := range f.users {
		if u.user.ID == c.UserID {
			return u.user, nil
		}
	}
	return auth.User{}, errors.New("fake: user vanished")
}

func (f *fakeService) Sessions(_ context.Context, c auth.Caller) ([]auth.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Sessions"); err != nil {
		return nil, err
	}
	var out []auth.Session
	for _, s := range f.sessions {
		if s.userID == c.UserID {
			v := s.session
			v.Current = v.ID == c.SessionID
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
