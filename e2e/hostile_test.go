package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// hostileSecret is the JWT_SECRET of the hostile-request services.
const hostileSecret = "hostile-test-secret-of-at-least-32-bytes!"

// answerWithin is the hang guard: a hostile request still unanswered after
// it counts as a hang. It measures no speed, so it is generous enough for a
// loaded 2-core CI machine.
const answerWithin = 30 * time.Second

// bodyKind says what a response body must look like.
type bodyKind int

const (
	bodyAny        bodyKind = iota // no check (e.g. net/http's own 431)
	bodyGraphQLErr                 // GraphQL response with coded errors
	bodyGraphQLOK                  // GraphQL response with data and no errors
	bodyJSONErr                    // {"error": "..."}
	bodyJSON                       // any JSON value
	bodyText                       // exactly want (trimmed)
	bodySSE                        // a text/event-stream whose first event is read
	bodyEmpty                      // HEAD
)

// hostileCase is one abusive request and what must come back.
type hostileCase struct {
	name   string
	to     *service
	method string // default POST
	path   string // default /graphql
	header map[string]string
	body   []byte
	// Expectations. status 0 means any status below 500.
	status int
	kind   bodyKind
	code   string // GraphQL extensions.code
	want   string // substring of the body (bodyText: the whole trimmed body)
	check  func(t *testing.T, resp *http.Response, body []byte)
}

// leakWords must never appear in a response body: internal detail.
var leakWords = []string{"sql", "pq:", "pgx", "sqlite", "goroutine", "panic", ".go:", "runtime.", "/work/", "/tmp/", "/home/", "dial tcp", "redis:"}

// TestHostileRequests throws a table of abusive requests at a running auth
// service (PostgreSQL, Redis, HS256), a production-mode auth service, an
// embedded-mode auth service and the example microservice, with slow
// clients holding connections meanwhile. Every answer is below 500, quick,
// clear and free of internals; afterwards everything still works.
func TestHostileRequests(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	env := map[string]string{"JWT_SECRET": hostileSecret, "REDIS_ADDR": rs.Addr}
	auth := start(t, serverBin, merge(env, cheapArgon, map[string]string{
		"DATABASE_URL": testenv.Postgres(t), "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
	}), "/healthz")
	// Production refuses cheap argon2 parameters: this one hashes for real.
	prod := start(t, serverBin, map[string]string{
		"AUTH_ENV": "production", "JWT_SECRET": hostileSecret, "DATA_DIR": t.TempDir(),
	}, "/healthz")
	embedded := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir()}), "/healthz")
	svc := start(t, exampleBin, env, "/health")

	slow := startSlowClients(t, auth, svc)
	a := registerAndLogin(t, auth.URL, "hostile@example.com")
	tokens := forgedTokens(t, a)

	for _, c := range hostileCases(auth, prod, embedded, svc, a, tokens) {
		t.Run(c.name, func(t *testing.T) { runHostile(t, c) })
	}

	// Everything still answers, and the system still works end to end.
	for _, p := range []*service{auth, prod, embedded} {
		if code, body := get(t, p.URL+"/healthz", ""); code != 200 {
			t.Fatalf("%s/healthz after the table: got %d %q; want 200", p.URL, code, body)
		}
	}
	if code, body := get(t, svc.URL+"/health", ""); code != 200 {
		t.Fatalf("/health of the microservice after the table: got %d %q; want 200", code, body)
	}
	b := login(t, auth.URL, a)
	if code, _ := get(t, svc.URL+"/api/protected", b.Token); code != 200 {
		t.Fatalf("fresh login after the table: /api/protected got %d; want 200", code)
	}
	var out bool
	gql(t, auth.URL, `mutation { logout }`, b.Token).field(t, "logout", &out)
	waitStatus(t, svc.URL+"/api/protected", b.Token, 401, 5*time.Second)
	registerAndLogin(t, embedded.URL, "still-works@example.com")
	slow.check(t)
}

// runHostile sends c and checks the answer.
func runHostile(t *testing.T, c hostileCase) {
	method, path := c.method, c.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/graphql"
	}
	ctx, cancel := context.WithTimeout(context.Background(), answerWithin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.to.URL+path, bytes.NewReader(c.body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if c.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if method == http.MethodPost && c.header["Content-Type"] == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		if v == "-" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no answer within %s: %v", method, path, answerWithin, err)
	}
	defer resp.Body.Close()
	var body []byte
	if c.kind == bodySSE {
		body = readFirstEvent(t, resp.Body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("got status %d %q; want < 500", resp.StatusCode, clip(body))
	}
	if c.status != 0 && resp.StatusCode != c.status {
		t.Errorf("got status %d %q; want %d", resp.StatusCode, clip(body), c.status)
	}
	lower := strings.ToLower(string(body))
	for _, w := range leakWords {
		if strings.Contains(lower, w) {
			t.Errorf("body reveals internal detail %q: %q", w, clip(body))
		}
	}
	checkBody(t, c, body)
	if c.check != nil {
		c.check(t, resp, body)
	}
}

// checkBody checks the shape of a response body.
func checkBody(t *testing.T, c hostileCase, body []byte) {
	t.Helper()
	switch c.kind {
	case bodyGraphQLErr, bodyGraphQLOK:
		var r gqlResult
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("body is not a GraphQL JSON response: %v: %q", err, clip(body))
		}
		if c.kind == bodyGraphQLOK {
			if len(r.Errors) > 0 || len(r.Data) == 0 {
				t.Fatalf("got errors %+v; want data", r.Errors)
			}
			break
		}
		if len(r.Errors) == 0 {
			t.Fatalf("got no GraphQL error: %q", clip(body))
		}
		e := r.Errors[0]
		if len(e.Message) < 8 {
			t.Errorf("error message %q is not helpful", e.Message)
		}
		switch got := r.code(); {
		case got == "":
			t.Errorf("error %q has no extensions.code", e.Message)
		case got == "INTERNAL":
			t.Errorf("hostile input caused an INTERNAL error: %q", e.Message)
		case c.code != "" && got != c.code:
			t.Errorf("got code %s (%q); want %s", got, e.Message, c.code)
		}
	case bodyJSONErr:
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || len(e.Error) < 5 {
			t.Errorf("body is not a JSON error with a message: %q", clip(body))
		}
	case bodyJSON:
		if !json.Valid(body) {
			t.Errorf("body is not JSON: %q", clip(body))
		}
	case bodyText:
		if got := strings.TrimSpace(string(body)); got != c.want {
			t.Errorf("got body %q; want %q", clip(body), c.want)
		}
		return
	case bodySSE:
		if !bytes.Contains(body, []byte("event: snapshot")) {
			t.Errorf("stream did not open with a snapshot: %q", clip(body))
		}
	case bodyEmpty:
		if len(body) != 0 {
			t.Errorf("got body %q; want none", clip(body))
		}
	}
	if c.want != "" && !strings.Contains(string(body), c.want) {
		t.Errorf("body %q does not mention %q", clip(body), c.want)
	}
}

// readFirstEvent reads a Server-Sent Events stream up to the end of its
// first data event.
func readFirstEvent(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var out bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	sawData := false
	for sc.Scan() {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
		if strings.HasPrefix(sc.Text(), "data:") {
			sawData = true
		}
		if sc.Text() == "" && sawData {
			return out.Bytes()
		}
	}
	t.Fatalf("stream ended before its first event (%v): %q", sc.Err(), clip(out.Bytes()))
	return nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// gqlBody is a POST body for query with optional variables.
func gqlBody(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// forged holds hand-made tokens for the attacks.
type forged struct {
	none, otherSecret, expired, jku, typeConfusion, manyDots string
	// ours is correctly signed and valid; longLived is too, but its
	// exp - iat (400h) exceeds the default MAX_TOKEN_LIFETIME (360h).
	ours, longLived string
}

// forgedTokens builds the attack tokens around a's real identifiers.
func forgedTokens(t *testing.T, a account) forged {
	t.Helper()
	now := time.Now().Unix()
	claims := func(exp int64, typ string) map[string]any {
		return map[string]any{
			"iss": "authentication-service", "sub": a.UserID, "sid": a.Session, "jti": rand.Text(),
			"type": typ, "iat": now - 60, "nbf": now - 60, "exp": exp,
		}
	}
	at := map[string]any{"alg": "HS256", "typ": "at+jwt"}
	ours := []byte(hostileSecret)
	return forged{
		none:          jws(map[string]any{"alg": "none", "typ": "at+jwt"}, claims(now+600, "access"), nil),
		otherSecret:   jws(at, claims(now+600, "access"), []byte("not-our-secret-but-just-as-long-0123456789")),
		expired:       jws(at, claims(now-3600, "access"), ours),
		jku:           jws(map[string]any{"alg": "HS256", "typ": "at+jwt", "jku": "http://attacker.example/jwks"}, claims(now+600, "access"), ours),
		typeConfusion: jws(at, claims(now+600, "refresh"), ours),
		manyDots:      strings.Repeat("a.", 4000) + "a",
		ours:          jws(at, claims(now+600, "access"), ours),
		longLived:     jws(at, claims(now-60+400*3600, "access"), ours),
	}
}

// jws signs header.claims with HS256 under secret (nil: no signature).
func jws(header, claims map[string]any, secret []byte) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	if secret == nil {
		return input + "."
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + enc.EncodeToString(m.Sum(nil))
}

// nestedQuery nests me n levels deep.
func nestedQuery(n int) string {
	return "{ " + strings.Repeat("me { ", n) + "id" + strings.Repeat(" }", n) + " }"
}

// aliased repeats field under n aliases.
func aliased(op, field string, n int) string {
	var b strings.Builder
	b.WriteString(op + " { ")
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	b.WriteString("}")
	return b.String()
}

// hostileCases is the table: auth is the PostgreSQL/Redis/HS256 service,
// prod the same in AUTH_ENV=production, embedded the SQLite/feed service and
// svc the example microservice.
func hostileCases(auth, prod, embedded, svc *service, a account, tok forged) []hostileCase {
	const unauth = "Invalid or expired token"
	me := []byte(`{"query":"{ me { id } }"}`)
	bearer := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	huge := func(n int) string { return strings.Repeat("x", n) }
	loginVars := `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`
	registerVars := `mutation($e: String!, $p: String!) { register(input: {email: $e, password: $p}) { message } }`
	sse := map[string]string{"Accept": "text/event-stream"}
	noRoot := func(t *testing.T, _ *http.Response, body []byte) {
		if bytes.Contains(body, []byte("root:")) {
			t.Fatalf("path traversal served a system file: %q", clip(body))
		}
	}
	batch := "[" + strings.TrimSuffix(strings.Repeat(`{"query":"{ me { id } }"},`, 1000), ",") + "]"
	return []hostileCase{
		// Not GraphQL at all: 4xx with a JSON body coded BAD_REQUEST.
		{name: "malformed JSON", to: auth, body: []byte(`{"query": "{ me { id } }"`), status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "JSON"},
		{name: "empty body", to: auth, body: []byte{}, status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "empty"},
		{name: "JSON null", to: auth, body: []byte(`null`), status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST"},
		{name: "wrong content type", to: auth, body: me, header: map[string]string{"Content-Type": "text/plain"}, status: 415, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "application/json"},
		{name: "form post (CSRF shape)", to: auth, body: []byte("query=mutation+%7B+logout+%7D"), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, kind: bodyGraphQLErr, code: "BAD_REQUEST"},
		{name: "2 MiB body", to: auth, body: gqlBody("{ me { id } }", map[string]any{"pad": huge(2 << 20)}), status: 413, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "larger than"},
		{name: "batch of 1000 operations", to: auth, body: []byte(batch), status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "JSON object"},
		{name: "variables nested 20000 deep", to: auth, body: []byte(`{"query":"{ me { id } }","variables":{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`), status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST"},
		{name: "null bytes and invalid UTF-8 in the body", to: auth, body: []byte("{\"query\":\"{ me { id } }\x00\xff\xfe\"}"), kind: bodyGraphQLErr},
		{name: "PUT", to: auth, method: http.MethodPut, body: me, status: 405, kind: bodyGraphQLErr, code: "BAD_REQUEST"},
		{name: "DELETE", to: auth, method: http.MethodDelete, status: 405, kind: bodyGraphQLErr, code: "BAD_REQUEST"},
		{name: "OPTIONS", to: auth, method: http.MethodOptions, status: 405, kind: bodyGraphQLErr, code: "BAD_REQUEST"},
		{name: "HEAD", to: auth, method: http.MethodHead, status: 405, kind: bodyEmpty},
		{name: "GET with a mutation", to: auth, method: http.MethodGet, path: "/graphql?query=mutation%7Blogout%7D", status: 405, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "POST"},
		{name: "GET without a query", to: auth, method: http.MethodGet, status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST"},

		// Hostile GraphQL: refused before execution with a coded error.
		{name: "depth 100", to: auth, body: gqlBody(nestedQuery(100), nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED", want: "too deep"},
		{name: "1000 aliases", to: auth, body: gqlBody(aliased("query", "__typename", 1000), nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED", want: "too many fields"},
		{name: "1000 aliased logins", to: auth, body: gqlBody(aliased("mutation", `login(input: {email: "hostile@example.com", password: "guess"}) { token }`, 1000), nil), status: 422, kind: bodyGraphQLErr},
		{name: "fragment cycle", to: auth, body: gqlBody("query { me { ...A } } fragment A on User { ...B } fragment B on User { ...A }", nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED", want: "cycle"},
		{name: "fragment bomb", to: auth, body: gqlBody(fragmentBombQuery(30), nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "20000 tokens", to: auth, body: gqlBody("{ me { "+strings.Repeat("id ", 20000)+"} }", nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_PARSE_FAILED"},
		{name: "unknown operation name", to: auth, body: []byte(`{"query":"query A { me { id } }","operationName":"B"}`), kind: bodyGraphQLErr},
		{name: "unknown field", to: auth, body: gqlBody("{ users { password } }", nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "subscription", to: auth, body: gqlBody("subscription { me { id } }", nil), kind: bodyGraphQLErr},
		{name: "huge email argument", to: auth, body: gqlBody(loginVars, map[string]any{"e": huge(200<<10) + "@example.com", "p": "Test1234!"}), status: 200, kind: bodyGraphQLErr, code: "BAD_USER_INPUT"},
		{name: "huge password on login", to: auth, body: gqlBody(loginVars, map[string]any{"e": a.Email, "p": huge(900 << 10)}), status: 200, kind: bodyGraphQLErr, code: "INVALID_CREDENTIALS"},
		{name: "huge password on register", to: auth, body: gqlBody(registerVars, map[string]any{"e": "huge@example.com", "p": huge(900 << 10)}), status: 200, kind: bodyGraphQLErr, code: "BAD_USER_INPUT"},
		{name: "null byte in email", to: auth, body: gqlBody(registerVars, map[string]any{"e": "nul\x00@example.com", "p": "Test1234!"}), status: 200, kind: bodyGraphQLErr, code: "BAD_USER_INPUT"},
		{name: "null byte in password", to: auth, body: gqlBody(registerVars, map[string]any{"e": "nul@example.com", "p": "Test\x001234!"}), status: 200, kind: bodyGraphQLErr, code: "BAD_USER_INPUT"},
		{name: "invalid UTF-8 in variables", to: auth, body: []byte("{\"query\":\"" + strings.ReplaceAll(loginVars, `"`, `\"`) + "\",\"variables\":{\"e\":\"\xff\xfe@example.com\",\"p\":\"\xc3\x28\"}}"), status: 200, kind: bodyGraphQLErr},
		{name: "invalid UTF-8 User-Agent on login", to: auth, body: gqlBody(loginVars, map[string]any{"e": a.Email, "p": a.Password}), header: map[string]string{"User-Agent": "Mozilla/5.0 \xff\xfe\xc3\x28 (X11; Linux x86_64)"}, status: 200, kind: bodyGraphQLOK},
		{name: "garbage X-Forwarded-For on login", to: auth, body: gqlBody(loginVars, map[string]any{"e": a.Email, "p": a.Password}), header: map[string]string{"X-Forwarded-For": "<script>, 999.1.1.1, ::::, " + huge(4000) + ", 10.0.0.1:99999, ,,,"}, status: 200, kind: bodyGraphQLOK},
		{name: "hostile X-Request-ID", to: auth, body: me, header: map[string]string{"X-Request-ID": "<script>alert(1)</script>" + huge(200)}, kind: bodyGraphQLErr, code: "UNAUTHENTICATED",
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				if id := resp.Header.Get("X-Request-ID"); strings.ContainsAny(id, "<>") || len(id) > 64 {
					t.Errorf("X-Request-ID echoed unsafely: %q", id)
				}
			}},

		// Token attacks at the auth service.
		{name: "alg none at auth", to: auth, body: me, header: bearer("Bearer " + tok.none), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "other secret at auth", to: auth, body: me, header: bearer("Bearer " + tok.otherSecret), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "lifetime over MAX_TOKEN_LIFETIME at auth", to: auth, body: me, header: bearer("Bearer " + tok.longLived), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "expired at auth", to: auth, body: me, header: bearer("Bearer " + tok.expired), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "jku header at auth", to: auth, body: me, header: bearer("Bearer " + tok.jku), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "refresh token as access at auth", to: auth, body: me, header: bearer("Bearer " + a.Refresh), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "access token as refresh", to: auth, body: gqlBody(`mutation($t: String!) { refreshToken(token: $t) { token } }`, map[string]any{"t": a.Token}), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "8 KiB Authorization at auth", to: auth, body: me, header: bearer("Bearer " + huge(8<<10)), status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "too large"},
		{name: "64 KiB Authorization at auth", to: auth, body: me, header: bearer("Bearer " + huge(64<<10)), status: 400, kind: bodyGraphQLErr, code: "BAD_REQUEST", want: "too large"},
		{name: "Bearer with nothing at auth", to: auth, body: me, header: bearer("Bearer"), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "Basic auth at auth", to: auth, body: me, header: bearer("Basic dXNlcjpwYXNz"), status: 200, kind: bodyGraphQLErr, code: "UNAUTHENTICATED"},
		{name: "1 MiB header at auth", to: auth, body: me, header: map[string]string{"X-Big": huge(1 << 20)}, status: 431},

		// Production mode: no introspection, no field suggestions.
		{name: "introspection in production", to: prod, body: gqlBody("{ __schema { types { name } } }", nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED", want: "introspection is disabled"},
		{name: "__type in production", to: prod, body: gqlBody(`{ __type(name: "User") { fields { name } } }`, nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "no suggestions in production", to: prod, body: gqlBody("{ mee { id } }", nil), status: 422, kind: bodyGraphQLErr, code: "GRAPHQL_VALIDATION_FAILED",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				if bytes.Contains(body, []byte("Did you mean")) {
					t.Errorf("production suggests field names: %q", clip(body))
				}
			}},

		// Other endpoints of the auth service.
		{name: "path traversal on well-known", to: auth, method: http.MethodGet, path: "/.well-known/../../../../etc/passwd", kind: bodyAny, check: noRoot},
		{name: "encoded path traversal", to: auth, method: http.MethodGet, path: "/.well-known/%2e%2e/%2e%2e/%2e%2e/etc/passwd", kind: bodyAny, check: noRoot},
		{name: "encoded slashes traversal", to: auth, method: http.MethodGet, path: "/.well-known/..%2f..%2f..%2fetc%2fpasswd", status: 404, kind: bodyJSONErr, check: noRoot},
		{name: "traversal past jwks.json", to: auth, method: http.MethodGet, path: "/.well-known/jwks.json/../../../etc/passwd", kind: bodyAny, check: noRoot},
		{name: "POST to jwks", to: auth, method: http.MethodPost, path: "/.well-known/jwks.json", body: me, kind: bodyJSONErr},
		{name: "DELETE healthz", to: auth, method: http.MethodDelete, path: "/healthz"},
		{name: "HEAD healthz", to: auth, method: http.MethodHead, path: "/healthz", status: 200, kind: bodyEmpty},
		{name: "unknown path", to: auth, method: http.MethodGet, path: "/admin", status: 404, kind: bodyJSONErr},
		{name: "OPTIONS revocations", to: auth, method: http.MethodOptions, path: "/v1/revocations", status: 405, kind: bodyJSONErr},
		{name: "garbage Last-Event-ID on Redis feed", to: auth, method: http.MethodGet, path: "/v1/revocations", header: merge(sse, map[string]string{"Last-Event-ID": "0-0; FLUSHALL\\r\\n" + huge(100)}), status: 200, kind: bodySSE},

		// The embedded service's revocation feed.
		{name: "huge Last-Event-ID", to: embedded, method: http.MethodGet, path: "/v1/revocations", header: merge(sse, map[string]string{"Last-Event-ID": huge(60 << 10)}), status: 200, kind: bodySSE},
		{name: "garbage cursor", to: embedded, method: http.MethodGet, path: "/v1/revocations?cursor=..%2F..%2Fetc%3B%20DROP%20TABLE%20revocations", header: sse, status: 200, kind: bodySSE},
		{name: "overflowing cursor", to: embedded, method: http.MethodGet, path: "/v1/revocations?cursor=-99999999999999999999999999", header: sse, status: 200, kind: bodySSE},
		{name: "odd Accept", to: embedded, method: http.MethodGet, path: "/v1/revocations", header: map[string]string{"Accept": "text/event-stream;;;q=garbage, */*"}, status: 200, kind: bodyJSON},
		{name: "POST revocations", to: embedded, method: http.MethodPost, path: "/v1/revocations", body: []byte(`{"kind":"user","id":"x"}`), status: 405, kind: bodyJSONErr},
		{name: "DELETE revocations", to: embedded, method: http.MethodDelete, path: "/v1/revocations", status: 405, kind: bodyJSONErr},
		{name: "snapshot as JSON", to: embedded, method: http.MethodGet, path: "/v1/revocations", status: 200, kind: bodyJSON},

		// The example microservice: 401 with the one body, whatever the token.
		{name: "alg none at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.none), status: 401, kind: bodyText, want: unauth},
		{name: "other secret at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.otherSecret), status: 401, kind: bodyText, want: unauth},
		{name: "forged with our secret at service (control)", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.ours), status: 200, kind: bodyAny},
		{name: "lifetime over MAX_TOKEN_LIFETIME at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.longLived), status: 401, kind: bodyText, want: unauth},
		{name: "expired at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.expired), status: 401, kind: bodyText, want: unauth},
		{name: "jku header at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.jku), status: 401, kind: bodyText, want: unauth},
		{name: "type confusion at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.typeConfusion), status: 401, kind: bodyText, want: unauth},
		{name: "refresh token as access at service", to: svc, method: http.MethodGet, path: "/api/profile", header: bearer("Bearer " + a.Refresh), status: 401, kind: bodyText, want: unauth},
		{name: "8000 dots at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + tok.manyDots), status: 401, kind: bodyText, want: unauth},
		{name: "8 KiB Authorization at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + huge(8<<10)), status: 401, kind: bodyText, want: unauth},
		{name: "64 KiB Authorization at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer " + huge(64<<10)), status: 401, kind: bodyText, want: unauth},
		{name: "Bearer with nothing at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Bearer"), status: 401, kind: bodyText, want: unauth},
		{name: "Basic auth at service", to: svc, method: http.MethodGet, path: "/api/protected", header: bearer("Basic dXNlcjpwYXNz"), status: 401, kind: bodyText, want: unauth},
		{name: "bad token on the public route", to: svc, method: http.MethodGet, path: "/api/public", header: bearer("Bearer " + tok.none), status: 200, kind: bodyText, want: "Hello! This is a public endpoint. No authentication required."},
		{name: "HEAD protected", to: svc, method: http.MethodHead, path: "/api/protected", status: 401, kind: bodyEmpty},
		{name: "DELETE protected", to: svc, method: http.MethodDelete, path: "/api/protected", header: bearer("Bearer " + a.Token), status: 405},
		{name: "OPTIONS profile", to: svc, method: http.MethodOptions, path: "/api/profile", status: 405},
		{name: "traversal at service", to: svc, method: http.MethodGet, path: "/api/../../etc/passwd", kind: bodyAny, check: noRoot},
		{name: "2 MiB header at service", to: svc, method: http.MethodGet, path: "/api/protected", header: map[string]string{"X-Big": huge(2 << 20)}, status: 431},
	}
}

// fragmentBombQuery spreads each fragment into the next twice: 2^n fields
// once expanded, from a short text.
func fragmentBombQuery(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { me { ...F0 } }\nfragment F%d on User { id }\n", n)
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on User { ...F%d a%d: email ...F%d }\n", i, i+1, i, i+1)
	}
	return b.String()
}

// slowClients hold connections open by trickling a request one byte at a
// time, as slowloris does, while the table runs.
type slowClients struct {
	began time.Time
	conns []*slowConn
}

type slowConn struct {
	name   string
	conn   net.Conn
	closed chan struct{} // closed when the server ends the connection
}

// startSlowClients opens slow-header connections to both services and
// slow-body connections to the auth service's /graphql.
func startSlowClients(t *testing.T, auth, svc *service) *slowClients {
	t.Helper()
	s := &slowClients{began: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	open := func(name string, p *service, prefix string) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
		if err != nil {
			t.Fatalf("dial %s: %v", p.URL, err)
		}
		if _, err := io.WriteString(conn, prefix); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
		c := &slowConn{name: name, conn: conn, closed: make(chan struct{})}
		s.conns = append(s.conns, c)
		wg.Add(2)
		go func() { // the server's answer, if any, then its close
			defer wg.Done()
			_, _ = io.Copy(io.Discard, conn)
			close(c.closed)
		}()
		go func() { // one byte every 200 ms
			defer wg.Done()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
	}
	for i := range 3 {
		open(fmt.Sprintf("slow headers to auth #%d", i), auth, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		open(fmt.Sprintf("slow headers to service #%d", i), svc, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	}
	for i := range 2 {
		open(fmt.Sprintf("slow body to auth #%d", i), auth, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"query\":\"")
	}
	t.Cleanup(func() {
		close(stop)
		for _, c := range s.conns {
			_ = c.conn.Close()
		}
		wg.Wait()
	})
	return s
}

// slowClientLimit is how long a server may let a client trickle a request:
// the services' 10 s ReadHeaderTimeout plus slack.
const slowClientLimit = 13 * time.Second

// check asserts that the servers dropped every slow connection within
// slowClientLimit of its opening.
func (s *slowClients) check(t *testing.T) {
	t.Helper()
	deadline := time.After(time.Until(s.began.Add(slowClientLimit)))
	for _, c := range s.conns {
		select {
		case <-c.closed:
		case <-deadline:
			deadline = time.After(0)
			t.Errorf("%s: the server still holds the connection %s after it opened; want it dropped (read timeout)", c.name, time.Since(s.began).Round(time.Second))
		}
	}
}
