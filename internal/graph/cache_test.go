package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// Inline secrets (the README's refreshToken(token: "…") form, a password in
// a login) must not outlive the request in the parsed-query caches; the
// form with variables is what the caches are for.
func TestQueryCacheKeepsNoSecrets(t *testing.T) {
	e := newEnv(t, graph.Config{})
	const password = "inline-Pa55word-never-kept"
	lr := e.registerAndLogin("ann@example.com", password) // variables: cached

	var inline loginResult
	ok(t, e.post(`mutation { login(input: {email: "ann@example.com", password: "`+password+`"}) { token refreshToken } }`,
		nil, "")).field(t, "login", &inline)
	secrets := []string{password, lr.RefreshToken, inline.RefreshToken}

	var pair struct{ Token, RefreshToken string }
	ok(t, e.post(`mutation { refreshToken(token: "`+lr.RefreshToken+`") { token refreshToken } }`, nil, "")).
		field(t, "refreshToken", &pair)
	secrets = append(secrets, pair.RefreshToken)
	ok(t, e.post(`mutation { refreshToken(token: """`+pair.RefreshToken+`""") { token refreshToken } }`, nil, "")).
		field(t, "refreshToken", &pair)
	secrets = append(secrets, pair.RefreshToken)
	ok(t, e.post("# my password is "+password+"\nquery { me { id } }", nil, pair.Token))
	ok(t, e.post(`mutation { changePassword(input: {oldPassword: "`+password+`", newPassword: "new-`+password+`"}) }`,
		nil, pair.Token))
	secrets = append(secrets, "new-"+password)

	const refreshVars = `mutation($t: String!) { refreshToken(token: $t) { token refreshToken } }`
	ok(t, e.post(refreshVars, map[string]any{"t": pair.RefreshToken}, "")).field(t, "refreshToken", &pair)
	secrets = append(secrets, pair.RefreshToken)

	got := graph.CachedQueries(e.h.(*graph.Handler))
	for _, keys := range [][]string{got.DocKeys, got.PassedKeys} {
		if !slices.Contains(keys, refreshVars) {
			t.Errorf("cache keys %q; want the variables-form refresh among them", keys)
		}
	}
	if len(got.Docs) != len(got.DocKeys) || len(got.Docs) == 0 {
		t.Errorf("%d cached documents for %d keys; want as many, at least one", len(got.Docs), len(got.DocKeys))
	}
	for _, s := range slices.Concat(got.DocKeys, got.PassedKeys, got.Docs) {
		if strings.ContainsAny(s, `"#`) {
			t.Errorf("cache holds a document with a string literal or comment: %q", s)
		}
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("cache holds secret %q in %q", secret, s)
			}
		}
	}
}
