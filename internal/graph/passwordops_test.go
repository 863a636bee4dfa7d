package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// TestOnePasswordOperationPerRequest: aliases cannot multiply password
// hashing: of the login, register and changePassword fields of one
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
