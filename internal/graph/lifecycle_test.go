package graph_test

import (
	"fmt"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// TestAccountTokenOperations: verifyEmail and resetPassword answer true
// for a good link once, and a bad link's code and message otherwise;
// requestPasswordReset is true.
func TestAccountTokenOperations(t *testing.T) {
	e := newEnv(t, graph.Config{})
	for _, op := range []string{
		`verifyEmail(token: %q)`,
		`resetPassword(input: {token: %q, newPassword: "New-pass-1234"})`,
	} {
		for _, tc := range []struct {
			name, token, code string
		}{
			{"good", "good-1", ""},
			{"reused", "good-1", "INVALID_TOKEN"},
			{"tampered", "bad", "INVALID_TOKEN"},
			{"expired", "expired", "TOKEN_EXPIRED"},
		} {
			t.Run(op[:6]+" "+tc.name, func(t *testing.T) {
				r := e.post("mutation { "+fmt.Sprintf(op, tc.token)+" }", nil, "")
				if tc.code == "" {
					ok(t, r)
					return
				}
				if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != tc.code || r.Errors[0].Message == "" {
					t.Fatalf("got %s; want one %s error with a message", r.raw, tc.code)
				}
			})
		}
		e.fake.spent = nil
	}
	r := ok(t, e.post(`mutation { requestPasswordReset(email: "nobody@example.com") }`, nil, ""))
	var got bool
	r.field(t, "requestPasswordReset", &got)
	if !got {
		t.Errorf("requestPasswordReset: got false; want true")
	}
}

// TestEmailVerifiedFields: login and me answer emailVerified.
func TestEmailVerifiedFields(t *testing.T) {
	e := newEnv(t, graph.Config{})
	ok(t, e.post(`mutation { register(input: {email: "a@b.c", password: "Test1234!"}) { user { emailVerified } } }`, nil, ""))
	r := ok(t, e.post(`mutation { login(input: {email: "a@b.c", password: "Test1234!"}) { token emailVerified } }`, nil, ""))
	var lr struct {
		Token         string
		EmailVerified bool
	}
	r.field(t, "login", &lr)
	if lr.EmailVerified {
		t.Errorf("login.emailVerified: got true; want false")
	}
	me := ok(t, e.post(`query { me { emailVerified } }`, nil, lr.Token))
	var u struct{ EmailVerified *bool }
	me.field(t, "me", &u)
	if u.EmailVerified == nil || *u.EmailVerified {
		t.Errorf("me.emailVerified: got %v; want false", u.EmailVerified)
	}
}

// TestChangeEmailNeedsASession: changeEmail is the signed-in caller's; a
// request without a token is UNAUTHENTICATED and reaches no service call.
func TestChangeEmailNeedsASession(t *testing.T) {
	e := newEnv(t, graph.Config{})
	ok(t, e.post(`mutation { register(input: {email: "a@b.c", password: "Test1234!"}) { message } }`, nil, ""))
	q := `mutation { changeEmail(input: {newEmail: "n@b.c", password: "Test1234!"}) }`
	calls := len(e.fake.clients)
	if r := e.post(q, nil, ""); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
		t.Fatalf("without a token: got %s; want UNAUTHENTICATED", r.raw)
	}
	if n := len(e.fake.clients) - calls; n != 0 {
		t.Errorf("without a token: %d service calls; want none", n)
	}
	r := ok(t, e.post(`mutation { login(input: {email: "a@b.c", password: "Test1234!"}) { token } }`, nil, ""))
	var lr struct{ Token string }
	r.field(t, "login", &lr)
	var got bool
	ok(t, e.post(q, nil, lr.Token)).field(t, "changeEmail", &got)
	if !got {
		t.Errorf("changeEmail: got false; want true")
	}
}
