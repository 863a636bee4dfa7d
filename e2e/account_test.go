package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// The account lifecycle of issue 14 (docs/API.md, "Email verification and
// password reset"): verification, password reset and email change, run
// against the real binaries with their mail read where it lands.

// mailbox is where a deployment's messages arrive: the test's SMTP server,
// or the .eml files of the embedded default.
type mailbox interface {
	Find(rcpt, subject string) []mailMessage
}

// waitMail waits until a message to rcpt whose subject contains subject is
// in mb, and returns the latest such one.
func waitMail(t *testing.T, mb mailbox, rcpt, subject string) mailMessage {
	t.Helper()
	var found []mailMessage
	testenv.WaitFor(t, fmt.Sprintf("a message to %s about %q", rcpt, subject), func() bool {
		found = mb.Find(rcpt, subject)
		return len(found) > 0
	})
	return found[len(found)-1]
}

// emlDir is the embedded default's mailbox: DATA_DIR/mail, one .eml file
// per message (README, "Email verification and password reset").
type emlDir string

func (d emlDir) Find(rcpt, subject string) []mailMessage {
	files, _ := filepath.Glob(filepath.Join(string(d), "*.eml")) // written whole: .tmp, then renamed
	var out []mailMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		msg, err := parseMail(b)
		if err != nil {
			continue
		}
		if st, err := os.Stat(f); err == nil {
			msg.At = st.ModTime() // names and Date have whole seconds only
		}
		if to, err := mail.ParseAddress(msg.Header.Get("To")); err == nil {
			msg.To = to.Address
		}
		if strings.EqualFold(msg.To, rcpt) && strings.Contains(msg.Subject, subject) {
			out = append(out, msg)
		}
	}
	slices.SortFunc(out, func(a, b mailMessage) int { return a.At.Compare(b.At) }) // oldest first
	return out
}

// mailMode is a deployment for the account flows and where its mail goes.
type mailMode struct {
	name string
	// deploy starts the auth service (with extra settings) and one
	// microservice, and returns where the auth service's mail arrives.
	deploy func(t *testing.T, extra map[string]string) (auth, svc *service, mb mailbox)
}

// mailModes are the embedded default (SQLite, the revocation feed, .eml
// files) and the distributed deployment (PostgreSQL, Redis, SMTP).
func mailModes() []mailMode {
	return []mailMode{
		{name: "embedded default: SQLite, feed, .eml files", deploy: func(t *testing.T, extra map[string]string) (*service, *service, mailbox) {
			dir := t.TempDir()
			auth, svc := mode{name: "embedded", auth: func(*testing.T) map[string]string {
				return map[string]string{"DATA_DIR": dir}
			}}.deploy(t, extra)
			return auth, svc, emlDir(filepath.Join(dir, "mail"))
		}},
		{name: "distributed: PostgreSQL, Redis, SMTP", deploy: func(t *testing.T, extra map[string]string) (*service, *service, mailbox) {
			m := startMailServer(t)
			auth, svc := mode{name: "distributed", auth: func(t *testing.T) map[string]string {
				rs := testenv.StartRedis(t)
				return merge(m.env(), map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_ADDR": rs.Addr})
			}}.deploy(t, extra)
			return auth, svc, m
		}},
	}
}

// TestAccountLifecycle walks the flows a user meets in the first week, in
// the embedded default and on PostgreSQL with Redis: the verification
// link, a reset that cannot tell who has an account, a reset that ends
// every session, links that are refused once used or altered, and an
// email change.
func TestAccountLifecycle(t *testing.T) {
	for _, m := range mailModes() {
		t.Run(m.name, func(t *testing.T) {
			auth, svc, mb := m.deploy(t, nil)
			a := registerAndLogin(t, auth.URL, "ada@example.com")
			var linkTokens []string

			// Verification: the GET (a mail scanner, or the user opening
			// the link) shows a form and consumes nothing; its POST does.
			msg := waitMail(t, mb, a.Email, subjVerify)
			path, tok := msg.Link(t)
			linkTokens = append(linkTokens, tok)
			if path != "/verify-email" {
				t.Fatalf("verification link path %s; want /verify-email", path)
			}
			b := newBrowser(t, auth.URL)
			for range 2 {
				if code, body := b.get(path + "?token=" + tok); code != 200 || !strings.Contains(body, tok) || !strings.Contains(strings.ToLower(body), "<form") {
					t.Fatalf("GET %s: %d %q; want 200 and a form holding the token", path, code, body)
				}
			}
			if emailVerified(t, auth.URL, a.Token) {
				t.Fatal("emailVerified is true after GETs of the link alone; only the form's POST may consume it")
			}
			if code, body := b.submit(path, tok, nil); code != 200 {
				t.Fatalf("POST %s: %d %q; want 200", path, code, body)
			}
			if !emailVerified(t, auth.URL, a.Token) {
				t.Fatal("emailVerified is false after the verification link's POST")
			}
			if code, body := b.submit(path, tok, nil); code != 400 {
				t.Errorf("POST %s again (a used link): %d %q; want 400", path, code, body)
			}
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { verifyEmail(token: %q) }`, tok), ""), "INVALID_TOKEN", "verifyEmail with a used token")
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { verifyEmail(token: %q) }`, tamper(tok)), ""), "INVALID_TOKEN", "verifyEmail with a tampered token")
			if code, body := b.submit(path, tamper(tok), nil); code != 400 {
				t.Errorf("POST %s with a tampered token: %d %q; want 400", path, code, body)
			}

			// A reset request for an account and for nobody: the client
			// cannot tell them apart.
			requestedAt := time.Now()
			known := rawGraphQL(t, auth.URL, fmt.Sprintf(`mutation { requestPasswordReset(email: %q) }`, a.Email))
			unknown := rawGraphQL(t, auth.URL, fmt.Sprintf(`mutation { requestPasswordReset(email: %q) }`, "nobody@example.com"))
			if d := known.diff(unknown); d != "" {
				t.Errorf("requestPasswordReset answers differ for an existing and an unknown address: %s", d)
			}
			if !strings.Contains(known.body, `"requestPasswordReset":true`) {
				t.Errorf("requestPasswordReset: %d %s; want true", known.status, known.body)
			}

			// The reset link sets a new password and ends every session:
			// two sessions' access tokens stop working at the
			// microservice, the old refresh token and password are refused.
			a2 := login(t, auth.URL, a)
			for _, s := range []account{a, a2} {
				if code, body := get(t, svc.URL+"/api/protected", s.Token); code != 200 {
					t.Fatalf("before the reset: %d %q", code, body)
				}
			}
			msg = waitMail(t, mb, a.Email, subjReset)
			t.Logf("reset message delivered %s after the request (the outbox polls every second)", msg.At.Sub(requestedAt).Round(time.Millisecond))
			path, tok = msg.Link(t)
			linkTokens = append(linkTokens, tok)
			if path != "/reset-password" {
				t.Fatalf("reset link path %s; want /reset-password", path)
			}
			if code, body := b.get(path + "?token=" + tok); code != 200 || !strings.Contains(body, tok) {
				t.Fatalf("GET %s: %d %q; want 200 and a form holding the token", path, code, body)
			}
			const newPassword = "N3w-passphrase!"
			if code, body := b.submit(path, tok, url.Values{"password": {"short"}}); code != 400 {
				t.Errorf("reset to a password the policy refuses: %d %q; want 400", code, body)
			}
			resetAt := time.Now()
			if code, body := b.submit(path, tok, url.Values{"password": {newPassword}}); code != 200 {
				t.Fatalf("POST %s: %d %q; want 200", path, code, body)
			}
			for i, s := range []account{a, a2} {
				lat := waitStatus(t, svc.URL+"/api/protected", s.Token, 401, 10*time.Second)
				t.Logf("session %d's access token refused at the microservice %s after the reset page answered (%s since the POST)", i+1, lat.Round(time.Millisecond), time.Since(resetAt).Round(time.Millisecond))
			}
			if r := gql(t, auth.URL, fmt.Sprintf(`mutation { refreshToken(token: %q) { token } }`, a.Refresh), ""); r.code() == "" {
				t.Error("the refresh token from before the reset still works")
			}
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, a.Email, a.Password), ""), "INVALID_CREDENTIALS", "login with the old password")
			a.Password = newPassword
			a = login(t, auth.URL, a)
			if code, _ := get(t, svc.URL+"/api/protected", a.Token); code != 200 {
				t.Errorf("a token from the new password at the microservice: %d; want 200", code)
			}
			waitMail(t, mb, a.Email, subjPasswordNote)
			if code, body := b.submit(path, tok, url.Values{"password": {"An0ther-passphrase"}}); code != 400 {
				t.Errorf("POST %s again (a used link): %d %q; want 400", path, code, body)
			}
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { resetPassword(input: {token: %q, newPassword: "An0ther-passphrase"}) }`, tok), ""), "INVALID_TOKEN", "resetPassword with a used token")
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { resetPassword(input: {token: %q, newPassword: "An0ther-passphrase"}) }`, tamper(tok)), ""), "INVALID_TOKEN", "resetPassword with a tampered token")

			// Email change: the password is required; the link mailed to
			// the new address moves the account, the old address is told.
			const newEmail = "ada.lovelace@example.com"
			changeQ := `mutation { changeEmail(input: {newEmail: %q, password: %q}) }`
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(changeQ, newEmail, "Wrong-passphrase1"), a.Token), "INVALID_CREDENTIALS", "changeEmail with a wrong password")
			var ok bool
			gql(t, auth.URL, fmt.Sprintf(changeQ, newEmail, a.Password), a.Token).field(t, "changeEmail", &ok)
			if note := waitMail(t, mb, a.Email, subjEmailChangeNote); !strings.Contains(note.Text, newEmail) {
				t.Errorf("the notice to the old address does not name the new one:\n%s", note.Text)
			}
			path, tok = waitMail(t, mb, newEmail, subjVerify).Link(t)
			linkTokens = append(linkTokens, tok)
			var me struct {
				Email         string
				EmailVerified bool
			}
			gql(t, auth.URL, `query { me { email emailVerified } }`, a.Token).field(t, "me", &me)
			if me.Email != a.Email {
				t.Fatalf("before the new address is confirmed: email %q; want %q", me.Email, a.Email)
			}
			if code, body := b.submit(path, tok, nil); code != 200 {
				t.Fatalf("POST %s (email change): %d %q; want 200", path, code, body)
			}
			gql(t, auth.URL, `query { me { email emailVerified } }`, a.Token).field(t, "me", &me)
			if me.Email != newEmail || !me.EmailVerified {
				t.Fatalf("after the link: %+v; want %s, verified", me, newEmail)
			}
			wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, a.Email, a.Password), ""), "INVALID_CREDENTIALS", "login with the old address")
			a.Email = newEmail
			login(t, auth.URL, a)

			for _, tok := range linkTokens {
				if strings.Contains(auth.Logs(), tok) {
					t.Errorf("the auth service's log holds a link's token %.8s…", tok)
				}
			}
		})
	}
}

// TestAccountTokensExpire: links used after their time are refused with
// TOKEN_EXPIRED by the API and a 400 page saying so.
func TestAccountTokensExpire(t *testing.T) {
	const ttl = time.Second
	auth, _, mb := mailModes()[0].deploy(t, map[string]string{"EMAIL_VERIFICATION_TTL": ttl.String(), "PASSWORD_RESET_TTL": ttl.String()})
	a := registerAndLogin(t, auth.URL, "late@example.com")
	gql(t, auth.URL, fmt.Sprintf(`mutation { requestPasswordReset(email: %q) }`, a.Email), "")
	verify := waitMail(t, mb, a.Email, subjVerify)
	reset := waitMail(t, mb, a.Email, subjReset)
	for _, msg := range []mailMessage{verify, reset} {
		sent, err := msg.Header.Date()
		if err != nil {
			t.Fatal(err)
		}
		// Date has whole seconds: wait until the token is surely expired.
		testenv.WaitFor(t, "the link's time to run out", func() bool { return time.Since(sent) > ttl+time.Second })
	}
	_, vtok := verify.Link(t)
	_, rtok := reset.Link(t)
	wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { verifyEmail(token: %q) }`, vtok), ""), "TOKEN_EXPIRED", "verifyEmail with an expired token")
	wantCode(t, gql(t, auth.URL, fmt.Sprintf(`mutation { resetPassword(input: {token: %q, newPassword: "N3w-passphrase!"}) }`, rtok), ""), "TOKEN_EXPIRED", "resetPassword with an expired token")
	b := newBrowser(t, auth.URL)
	for _, c := range []struct {
		path, tok string
		extra     url.Values
	}{{"/verify-email", vtok, nil}, {"/reset-password", rtok, url.Values{"password": {"N3w-passphrase!"}}}} {
		if code, body := b.submit(c.path, c.tok, c.extra); code != 400 || !strings.Contains(strings.ToLower(body), "expired") {
			t.Errorf("POST %s with an expired token: %d %q; want 400 saying it expired", c.path, code, body)
		}
	}
	if emailVerified(t, auth.URL, a.Token) {
		t.Error("an expired link verified the address")
	}
}

// TestRequireVerifiedEmail: with REQUIRE_VERIFIED_EMAIL=true an unverified
// account cannot log in; register answers the same for a taken address as
// for a new one, mailing the address's owner instead; and an account that
// never verified its address does not keep it from whoever can read the
// mailbox.
func TestRequireVerifiedEmail(t *testing.T) {
	auth, _, mb := mailModes()[0].deploy(t, map[string]string{"REQUIRE_VERIFIED_EMAIL": "true"})
	registerAs := func(email, password string) rawResponse {
		return rawGraphQL(t, auth.URL, fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message user { email } } }`, email, password))
	}
	loginAs := func(email, password string) gqlResult {
		return gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token emailVerified } }`, email, password), "")
	}
	// confirm uses the latest of n verification links to email.
	confirm := func(email string, n int) {
		t.Helper()
		testenv.WaitFor(t, fmt.Sprintf("%d verification messages to %s", n, email), func() bool { return len(mb.Find(email, subjVerify)) >= n })
		path, tok := waitMail(t, mb, email, subjVerify).Link(t)
		if code, body := newBrowser(t, auth.URL).submit(path, tok, nil); code != 200 {
			t.Fatalf("POST %s for %s: %d %q", path, email, code, body)
		}
	}

	// Same length, so that the answers may be compared byte for byte.
	const owner, fresh = "owner@example.com", "fresh@example.com"
	if r := registerAs(owner, "Test1234!"); r.status != 200 || strings.Contains(r.body, `"errors"`) {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	wantCode(t, loginAs(owner, "Test1234!"), "EMAIL_NOT_VERIFIED", "login of an unverified account")
	confirm(owner, 2) // the refused login mailed a fresh link
	var lr struct {
		Token         string
		EmailVerified bool
	}
	loginAs(owner, "Test1234!").field(t, "login", &lr)
	if lr.Token == "" || !lr.EmailVerified {
		t.Fatalf("login once verified: %+v; want a token and emailVerified", lr)
	}

	taken := registerAs(owner, "Other5678!")
	created := registerAs(fresh, "Other5678!")
	taken.body = strings.ReplaceAll(taken.body, owner, "ADDRESS")
	created.body = strings.ReplaceAll(created.body, fresh, "ADDRESS")
	if d := taken.diff(created); d != "" {
		t.Errorf("register answers differ for a taken and a new address: %s", d)
	}
	waitMail(t, mb, owner, subjRegisterNote)
	wantCode(t, loginAs(owner, "Other5678!"), "INVALID_CREDENTIALS", "login with the password of a registration of a taken address")

	// A squatter registers an address and never verifies it; its owner
	// registers it too and confirms from the mailbox: the account is the
	// owner's.
	const held = "held@example.com"
	registerAs(held, "Squat1234!")
	waitMail(t, mb, held, subjVerify)
	registerAs(held, "Mine5678!!")
	confirm(held, 2)
	loginAs(held, "Mine5678!!").field(t, "login", &lr)
	if !lr.EmailVerified {
		t.Errorf("the owner's account after confirming: %+v", lr)
	}
	wantCode(t, loginAs(held, "Squat1234!"), "INVALID_CREDENTIALS", "login with the squatter's password")
}

// wantCode fails unless r's first error has extensions.code code and a
// message.
func wantCode(t *testing.T, r gqlResult, code, what string) {
	t.Helper()
	if r.code() != code || r.Errors[0].Message == "" {
		t.Errorf("%s: errors %+v; want code %s with a message", what, r.Errors, code)
	}
}

// emailVerified reads me { emailVerified } with an access token.
func emailVerified(t *testing.T, base, token string) bool {
	t.Helper()
	var me struct{ EmailVerified bool }
	gql(t, base, `query { me { emailVerified } }`, token).field(t, "me", &me)
	return me.EmailVerified
}

// tamper changes a token's first character.
func tamper(tok string) string {
	c := byte('A')
	if tok[0] == 'A' {
		c = 'B'
	}
	return string(c) + tok[1:]
}

// rawResponse is an HTTP answer as a client sees it.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// diff describes how r and o differ, Date aside, or returns "".
func (r rawResponse) diff(o rawResponse) string {
	if r.status != o.status {
		return fmt.Sprintf("status %d vs %d", r.status, o.status)
	}
	if r.body != o.body {
		return fmt.Sprintf("body %q vs %q", r.body, o.body)
	}
	for _, h := range []http.Header{r.header, o.header} {
		for k := range h {
			if k == "Date" {
				continue
			}
			if !slices.Equal(r.header.Values(k), o.header.Values(k)) {
				return fmt.Sprintf("header %s: %q vs %q", k, r.header.Values(k), o.header.Values(k))
			}
		}
	}
	return ""
}

// rawGraphQL posts a GraphQL document with a fixed X-Request-ID (echoed
// back) and returns the answer as is.
func rawGraphQL(t *testing.T, base, query string) rawResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "e2e-same-request-id")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// browser opens the account pages as a browser would: a cookie jar, and
// form posts that carry the form's hidden fields and the page's Origin.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar}}
}

// get loads base+pathQuery and returns its status and body.
func (b *browser) get(pathQuery string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+pathQuery, nil)
	req.Header.Set("User-Agent", browserUA)
	req.Header.Set("Sec-Fetch-Site", "none") // typed or opened from a mail client
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", pathQuery, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var (
	inputRE = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE  = regexp.MustCompile(`(?is)\b(type|name|value)\s*=\s*"([^"]*)"`)
)

// submit opens path?token=tok, then posts its form: the form's hidden
// fields (the token among them, whatever else the page adds) with extra
// set on top. A page that does not load posts the token alone, as a
// stale tab would.
func (b *browser) submit(path, tok string, extra url.Values) (int, string) {
	b.t.Helper()
	form := url.Values{}
	if code, page := b.get(path + "?token=" + url.QueryEscape(tok)); code == 200 {
		for _, in := range inputRE.FindAllString(page, -1) {
			attrs := map[string]string{}
			for _, a := range attrRE.FindAllStringSubmatch(in, -1) {
				attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
			}
			if strings.EqualFold(attrs["type"], "hidden") && attrs["name"] != "" {
				form.Set(attrs["name"], attrs["value"])
			}
		}
	}
	if form.Get("token") == "" {
		form.Set("token", tok)
	}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", browserUA)
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
