package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGraphQLRequestIsUnambiguous: a request a proxy could read as one
// operation while the service runs another is refused with a clear 400:
// a member twice (encoding/json keeps the last, many parsers the first), a
// case variant of a member (encoding/json matches names case-insensitively),
// a URL parameter twice.
func TestGraphQLRequestIsUnambiguous(t *testing.T) {
	serverBin, _ := binaries(t)
	for _, m := range feedModes() {
		t.Run(m.name, func(t *testing.T) {
			auth := start(t, serverBin, merge(m.auth(t), cheapArgon), "/healthz")
			tests := []struct {
				name, method, path, body string
				status                   int
				want                     string
			}{
				{"query twice", "POST", "/graphql", `{"query":"{ __typename }","query":"mutation { logout }"}`, 400, "twice"},
				{"case variant alone", "POST", "/graphql", `{"Query":"mutation { logout }"}`, 400, "case-sensitive"},
				{"query and a case variant", "POST", "/graphql", `{"query":"{ __typename }","QUERY":"mutation { logout }"}`, 400, "differ only in case"},
				{"operationName twice, differently spelled", "POST", "/graphql", `{"query":"query A { __typename } query B { __typename }","operationName":"A","OperationName":"B"}`, 400, "differ only in case"},
				{"variables twice", "POST", "/graphql", `{"query":"{ __typename }","variables":{},"variables":{"a":1}}`, 400, "twice"},
				{"query twice in the URL", "GET", "/graphql?query=%7B__typename%7D&query=%7Bme%7Bid%7D%7D", "", 400, "once"},
				{"a plain request", "POST", "/graphql", `{"query":"{ __typename }","variables":{},"extra":1}`, 200, "__typename"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req, _ := http.NewRequest(tt.method, auth.URL+tt.path, bytes.NewReader([]byte(tt.body)))
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					body, _ := io.ReadAll(resp.Body)
					var r gqlResult
					if resp.StatusCode != tt.status || json.Unmarshal(body, &r) != nil || !strings.Contains(string(body), tt.want) {
						t.Fatalf("got %d %s; want %d mentioning %q", resp.StatusCode, body, tt.status, tt.want)
					}
					if tt.status == 400 && r.code() != "BAD_REQUEST" {
						t.Errorf("code %q; want BAD_REQUEST", r.code())
					}
				})
			}
		})
	}
}

// TestPlaygroundOnlyWhenEnabled: production does not serve the playground
// unless GRAPHQL_PLAYGROUND turns it on; development does.
func TestPlaygroundOnlyWhenEnabled(t *testing.T) {
	serverBin, _ := binaries(t)
	prod := map[string]string{"AUTH_ENV": "production", "JWT_SECRET": hostileSecret}
	tests := []struct {
		name string
		env  map[string]string
		want int
	}{
		{"production", prod, 404},
		{"production, turned on", merge(prod, map[string]string{"GRAPHQL_PLAYGROUND": "on"}), 200},
		{"development", cheapArgon, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, serverBin, merge(tt.env, map[string]string{"DATA_DIR": t.TempDir()}), "/healthz")
			code, body := get(t, p.URL+"/playground", "")
			if code != tt.want || (code == 200 && !strings.Contains(body, "/graphql")) {
				t.Fatalf("GET /playground: got %d %.100q; want %d", code, body, tt.want)
			}
		})
	}
}

// TestLookAlikeEmailsNameOneAccount: an address that differs from an
// account's only by compatibility characters (full-width letters) is that
// account, and an address mixing scripts in one part (a Cyrillic "а" among
// Latin letters) is refused, so neither creates a second account that
// passes for the first.
func TestLookAlikeEmailsNameOneAccount(t *testing.T) {
	serverBin, _ := binaries(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir()}), "/healthz")
	a := registerAndLogin(t, auth.URL, "victim@example.com")
	register := `mutation($e: String!) { register(input: {email: $e, password: "Test1234!"}) { user { id email } } }`
	tests := []struct{ name, email, code string }{
		{"full-width letters", "ｖｉｃｔｉｍ@example.com", "EMAIL_TAKEN"},
		{"full-width domain", "victim@ｅｘａｍｐｌｅ.com", "EMAIL_TAKEN"},
		{"Cyrillic a in a Latin name", "vict\u0456m@example.com", "BAD_USER_INPUT"},
		{"Greek omicron in a Latin domain", "victim@ex\u03bfmple.com", "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": register, "variables": map[string]string{"e": tt.email}})
			resp, err := http.Post(auth.URL+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r gqlResult
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if r.code() != tt.code {
				t.Fatalf("register %q: got %+v; want %s", tt.email, r, tt.code)
			}
		})
	}
	b := login(t, auth.URL, account{Email: "ｖｉｃｔｉｍ@example.com", Password: a.Password})
	if b.UserID != a.UserID {
		t.Fatalf("login with the full-width address reached user %s; want the account %s", b.UserID, a.UserID)
	}
}

// TestSessionsPerUserHaveADefaultCap: without MAX_SESSIONS_PER_USER, one
// account cannot pile up sessions without bound: the login past the
// default cap (100) ends the oldest session, whose token then stops working.
func TestSessionsPerUserHaveADefaultCap(t *testing.T) {
	const defaultCap = 100
	serverBin, _ := binaries(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir(), "RATE_LIMITS": "off"}), "/healthz")
	first := registerAndLogin(t, auth.URL, "many-devices@example.com")
	for range defaultCap - 1 {
		login(t, auth.URL, first)
	}
	if r := gql(t, auth.URL, `{ me { id } }`, first.Token); r.code() != "" {
		t.Fatalf("the oldest of %d sessions was ended: %s", defaultCap, r.code())
	}
	login(t, auth.URL, first)
	if r := gql(t, auth.URL, `{ me { id } }`, first.Token); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("after login %d the oldest session still works (code %q); want it ended by the default cap", defaultCap+1, r.code())
	}
}
