package graph_test

import (
	"context"

	"github.com/authmesh/authmesh/internal/auth"
)

// The fake's account lifecycle: "good-*" tokens are consumed once; the
// errors of anything else are those of the real service's bad links.

func (f *fakeService) RequestEmailVerification(_ context.Context, c auth.Caller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, c.Client)
	return f.enter("RequestEmailVerification")
}

func (f *fakeService) VerifyEmail(_ context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("VerifyEmail"); err != nil {
		return err
	}
	return f.consume(token)
}

func (f *fakeService) RequestPasswordReset(_ context.Context, email string, c auth.ClientInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, c)
	return f.enter("RequestPasswordReset")
}

func (f *fakeService) ResetPassword(_ context.Context, token, newPassword string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, auth.ClientInfo{})
	if err := f.enter("ResetPassword"); err != nil {
		return err
	}
	return f.consume(token)
}

func (f *fakeService) ChangeEmail(_ context.Context, c auth.Caller, newEmail, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients = append(f.clients, c.Client)
	return f.enter("ChangeEmail")
}

// consume spends a "good-*" token; f.mu is held.
func (f *fakeService) consume(token string) error {
	if f.spent == nil {
		f.spent = map[string]bool{}
	}
	switch {
	case token == "expired":
		return &auth.Error{Code: auth.CodeTokenExpired, Message: "This link has expired. Request a new one."}
	case len(token) < 5 || token[:5] != "good-", f.spent[token]:
		return &auth.Error{Code: auth.CodeInvalidToken, Message: "This link was already used, or a newer one replaced it. Request a new one."}
	}
	f.spent[token] = true
	return nil
}
