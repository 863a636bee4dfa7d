package graph_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// TestObserveOutcomes: each executed root field is reported once with the
// code its client saw, or OK; aliases are reported under the field's name.
func TestObserveOutcomes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	e := newEnv(t, graph.Config{Observe: func(field, code string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, field+" "+code)
	}})
	lr := e.registerAndLogin("outcomes@example.com", "Test1234!")
	for _, tt := range []struct {
		name, query, token string
		want               []string
	}{
		{"bad password", `mutation { login(input:{email:"outcomes@example.com",password:"wrong-Pass1"}) { token } }`, "", []string{"login INVALID_CREDENTIALS"}},
		{"aliased, with and without a token", `query { a: me { id } }`, lr.Token, []string{"me OK"}},
		{"no token", `query { me { id } }`, "", []string{"me UNAUTHENTICATED"}},
		{"two fields", `query { me { id } b: me { email } }`, lr.Token, []string{"me OK", "me OK"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			e.post(tt.query, nil, tt.token)
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("observed %q; want %q", got, tt.want)
			}
		})
	}
}
