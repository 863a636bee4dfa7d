package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph"
)

// Inline secrets (the README's refreshToken(token: "…") form, a password in
// a login) must not outlive the request in the parsed-query caches: they
// cache a document's shape, its string literals emptied, so that inline
// documents are parsed once per shape and not on every request.
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
	const refreshShape = `mutation { refreshToken(token: "") { token refreshToken } }`
	for _, keys := range [][]string{got.DocKeys, got.PassedKeys} {
		if !slices.Contains(keys, refreshVars) || !slices.Contains(keys, refreshShape) {
			t.Errorf("cache keys %q; want the variables-form refresh and the inline one's shape among them", keys)
		}
	}
	if len(got.Docs) != len(got.DocKeys) || len(got.Docs) == 0 {
		t.Errorf("%d cached documents for %d keys; want as many, at least one", len(got.Docs), len(got.DocKeys))
	}
	for _, s := range slices.Concat(got.DocKeys, got.PassedKeys, got.Docs) {
		if strings.ContainsAny(strings.ReplaceAll(s, `""`, ""), `"#`) {
			t.Errorf("cache holds a document with a non-empty string literal or a comment: %q", s)
		}
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("cache holds secret %q in %q", secret, s)
			}
		}
	}
}

// Inline documents that differ only in their string literals share one
// cache entry, and each is answered for its own values.
func TestInlineDocumentsOfOneShapeKeepTheirOwnValues(t *testing.T) {
	e := newEnv(t, graph.Config{})
	lr := e.registerAndLogin("bob@example.com", "right-Pa55word")
	login := func(password string) *gqlResponse {
		return e.post(`mutation { login(input: {email: "bob@example.com", password: "`+password+`"}) { email } }`, nil, "")
	}
	ok(t, login("right-Pa55word"))
	for _, wrong := range []string{"wrong-Pa55word, and longer", "w", `right-Pa55word\u0020`} {
		if r := login(wrong); r.code() != string(auth.CodeInvalidCredentials) {
			t.Errorf("login with password %q: %s; want %s", wrong, r.raw, auth.CodeInvalidCredentials)
		}
	}
	ok(t, login("right-Pa55word"))

	refresh := lr.RefreshToken
	for i := range 3 {
		var pair struct{ Token, RefreshToken string }
		ok(t, e.post(`mutation { refreshToken(token: "`+refresh+`") { token refreshToken } }`, nil, "")).
			field(t, "refreshToken", &pair)
		if pair.RefreshToken == "" || pair.RefreshToken == refresh {
			t.Fatalf("refresh %d: got %+v; want a new pair", i, pair)
		}
		refresh = pair.RefreshToken
	}
	// The first refresh token was rotated away: presenting it again is
	// refused, so the document was not answered from an earlier request.
	if r := e.post(`mutation { refreshToken(token: "`+lr.RefreshToken+`") { token } }`, nil, ""); r.code() != string(auth.CodeUnauthenticated) {
		t.Errorf("replayed refresh token: %s; want %s", r.raw, auth.CodeUnauthenticated)
	}

	got := graph.CachedQueries(e.h.(*graph.Handler))
	var shapes int
	for _, k := range got.DocKeys {
		if strings.Contains(k, "login(input: {email:") {
			shapes++
		}
	}
	if shapes != 1 {
		t.Errorf("%d cached shapes of the inline login; want 1 (keys %q)", shapes, got.DocKeys)
	}
}
