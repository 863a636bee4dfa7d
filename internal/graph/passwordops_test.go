package graph_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// TestOnePasswordOperationPerRequest: aliases cannot multiply password
// hashing: of the login, register, changePassword and changeEmail fields of one
// request, only the first reaches the service; the others are refused with
// BAD_USER_INPUT.
func TestOnePasswordOperationPerRequest(t *testing.T) {
	login := func(i int) string {
		return fmt.Sprintf(`l%d: login(input: {email: "a@b.c", password: "Test1234!"}) { token }`, i)
	}
	for _, tc := range []struct {
		name   string
		fields []string
	}{
		{"aliased logins", []string{login(0), login(1), login(2), login(3)}},
		{"register then logins", []string{`r: register(input: {email: "x@b.c", password: "Test1234!"}) { message }`, login(1), login(2)}},
		{"logins then changePassword", []string{login(0), `c: changePassword(input: {oldPassword: "Test1234!", newPassword: "Other-5678"})`}},
		{"logins then changeEmail", []string{login(0), `c: changeEmail(input: {newEmail: "n@b.c", password: "Test1234!"})`, `d: changeEmail(input: {newEmail: "m@b.c", password: "Test1234!"})`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, graph.Config{})
			ok(t, e.post(`mutation { register(input: {email: "a@b.c", password: "Test1234!"}) { message } }`, nil, ""))
			calls := len(e.fake.clients)
			r := e.post("mutation { "+strings.Join(tc.fields, " ")+" }", nil, "")
			if n := len(e.fake.clients) - calls; n != 1 {
				t.Errorf("service calls: got %d; want 1", n)
			}
			if len(r.Errors) != len(tc.fields)-1 {
				t.Fatalf("got %d errors (%s); want %d", len(r.Errors), r.raw, len(tc.fields)-1)
			}
			for _, err := range r.Errors {
				if err.Extensions["code"] != "BAD_USER_INPUT" {
					t.Errorf("error %v: got code %v; want BAD_USER_INPUT", err.Path, err.Extensions["code"])
				}
			}
		})
	}
}

// TestDeviceToken: a login answers a deviceToken and sets it as an HttpOnly
// cookie; the next login's device token is the cookie's, or the input's
// when one is given.
func TestDeviceToken(t *testing.T) {
	e := newEnv(t, graph.Config{})
	ok(t, e.post(`mutation { register(input: {email: "a@b.c", password: "Test1234!"}) { message } }`, nil, ""))
	r := ok(t, e.post(`mutation { login(input: {email: "a@b.c", password: "Test1234!"}) { deviceToken } }`, nil, ""))
	var lr struct{ DeviceToken string }
	r.field(t, "login", &lr)
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 || cookies[0].Name != graph.DeviceCookie || cookies[0].Value != lr.DeviceToken ||
		!cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/graphql" || cookies[0].Expires.IsZero() {
		t.Fatalf("Set-Cookie: got %v; want one HttpOnly, SameSite=Strict %s cookie on /graphql holding %q", r.header["Set-Cookie"], graph.DeviceCookie, lr.DeviceToken)
	}
	for _, tc := range []struct {
		name, cookie, input, want string
	}{
		{"cookie", lr.DeviceToken, "", lr.DeviceToken},
		{"input", "", "from-input", "from-input"},
		{"input wins over cookie", lr.DeviceToken, "from-input", "from-input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := ""
			if tc.input != "" {
				input = fmt.Sprintf(`, deviceToken: %q`, tc.input)
			}
			body := fmt.Sprintf(`{"query": %q}`, `mutation { login(input: {email: "a@b.c", password: "Test1234!"`+input+`}) { deviceToken } }`)
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: graph.DeviceCookie, Value: tc.cookie})
			}
			ok(t, e.do(req))
			if got := e.fake.clients[len(e.fake.clients)-1].DeviceToken; got != tc.want {
				t.Errorf("device token given to the service: got %q; want %q", got, tc.want)
			}
		})
	}
}
