package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"

	"github.com/authmesh/authmesh/internal/testenv"
)

// browserModes are the deployments the browser tests run against: the
// embedded default and Redis.
func browserModes() []mode {
	var out []mode
	for _, m := range modes() {
		if strings.HasPrefix(m.name, "embedded") || strings.HasPrefix(m.name, "quick start") {
			out = append(out, m)
		}
	}
	return out
}

// The account page in two real browsers: A sees both sessions with its own
// marked, signs B out, and B is refused by the microservice within
// milliseconds while A keeps working; the cookies carry the documented
// flags, never reach script, and a cross-site form POST carrying them is
// refused; the page talks to no other host.
func TestBrowserAccountPage(t *testing.T) {
	for i, m := range browserModes() {
		t.Run(m.name, func(t *testing.T) {
			auth, svc := m.deploy(t, nil)
			a := account{Email: fmt.Sprintf("browser%d@example.com", i), Password: "Test1234!"}
			gql(t, auth.URL, fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message } }`, a.Email, a.Password), "")

			A, B := newProfile(t), newProfile(t)
			A.do(chromedp.Navigate(auth.URL+"/account"), chromedp.WaitVisible(chromedp.ID("email")))
			checkNames(t, A.ctx, "Email", "Password", "Sign in")
			load := eval[struct{ Ms, Bytes float64 }](t, A.ctx, `({
				Ms: performance.getEntriesByType("navigation")[0].duration,
				Bytes: performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).reduce((n, e) => n + e.transferSize, 0),
			})`)
			t.Logf("account page load: %.0f ms to the load event, %.0f bytes transferred", load.Ms, load.Bytes)
			A.signIn(auth.URL, a)
			authHost := strings.TrimPrefix(auth.URL, "http://")
			if h := hosts(A.Requests()); len(h) != 1 || !h[authHost] {
				t.Errorf("loading /account and signing in sent requests to %v; want %s only:\n%s", h, authHost, strings.Join(A.Requests(), "\n"))
			}
			checkNames(t, A.ctx, "Sign out", "Sign out all other devices", "Change password", "Current password", "New password")
			B.signIn(auth.URL, a)

			// A sees two sessions, its own marked, in a table with a header row.
			A.do(chromedp.Navigate(auth.URL+"/account"), chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr[data-current="true"]`)))
			table := eval[struct {
				Headers []string
				Rows    int
				Current []string
			}](t, A.ctx, `({
				Headers: [...document.querySelectorAll('#sessions thead th')].map(th => th.innerText),
				Rows: document.querySelectorAll('#sessions tbody tr').length,
				Current: [...document.querySelectorAll('#sessions tbody tr.current')].map(tr => tr.innerText),
			})`)
			if len(table.Headers) != 6 || table.Headers[0] != "Device" || table.Rows != 2 || len(table.Current) != 1 || !strings.Contains(table.Current[0], "this device") {
				t.Fatalf("A's sessions table: %+v; want a header row, 2 sessions, one marked \"this device\"", table)
			}
			shot, err := chromedp.Run(A.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			t.Logf("account page screenshot: %s", artifact(t, "account-page-"+strings.TrimSuffix(strings.Fields(m.name)[0], ":")+".png", shot))

			checkCookies(t, A, auth.URL)

			// B reaches the microservice by top-level navigation: the
			// access cookie alone, no header.
			if body := B.bodyText(svc.URL + "/api/protected"); !strings.Contains(body, "Welcome authenticated user") {
				t.Fatalf("B GET /api/protected: %q", body)
			}

			// A signs B out.
			A.do(chromedp.Navigate(auth.URL + "/account"))
			A.do(chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr:not(.current) button`)))
			clicked := time.Now()
			A.do(chromedp.Click(chromedp.CSS(`#sessions tbody tr:not(.current) button`)))
			A.do(chromedp.WaitNotPresent(chromedp.CSS(`#sessions tbody tr:not(.current)`)))
			latency := B.waitRefused(svc.URL+"/api/protected", clicked)
			t.Logf("revocation seen by the browser: A's click to B refused by the microservice in %s", latency)
			if _, ok := B.cookies(auth.URL)["authmesh_access"]; !ok {
				t.Fatal("B's access cookie lapsed: the refusal above proves nothing")
			}
			B.do(chromedp.Navigate(auth.URL+"/account"), chromedp.WaitVisible(chromedp.ID("signin")))

			// A's own session still works, at the microservice and on the page.
			if body := A.bodyText(svc.URL + "/api/protected"); !strings.Contains(body, "Welcome authenticated user") {
				t.Fatalf("A GET /api/protected after signing B out: %q", body)
			}
			A.do(chromedp.Navigate(auth.URL+"/account"), chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr[data-current="true"]`)))

			crossSiteForms(t, A, auth.URL, svc.URL)
			accountControls(t, A, B, a, auth.URL, svc.URL)
		})
	}
}

// waitRefused navigates to u until it answers "Invalid or expired token",
// for at most 5s after since, and returns how long after since that was.
func (p *profile) waitRefused(u string, since time.Time) time.Duration {
	p.t.Helper()
	for {
		body := p.bodyText(u)
		if strings.TrimSpace(body) == "Invalid or expired token" {
			return time.Since(since)
		}
		if time.Since(since) > 5*time.Second {
			p.t.Fatalf("%s still answers %q 5s on", u, body)
		}
	}
}

// accountControls uses the rest of the page: a failed sign-in shows its
// error beside the form; "Sign out all other devices" ends B's new
// session; a wrong current password is reported beside its form, a right
// one changes the password; "Sign out" ends A's session.
func accountControls(t *testing.T, A, B *profile, a account, authURL, svcURL string) {
	t.Helper()
	B.do(
		chromedp.Navigate(authURL+"/account"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), a.Email),
		chromedp.SendKeys(chromedp.ID("password"), "wrong-password"),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#signin-error:not(:empty)`)),
	)
	if msg := eval[string](t, B.ctx, `document.getElementById("signin-error").innerText`); !strings.Contains(strings.ToLower(msg), "password") {
		t.Errorf("wrong password: the form shows %q", msg)
	}
	B.signIn(authURL, a)

	A.do(
		chromedp.Navigate(authURL+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr:not(.current)`)),
	)
	clicked := time.Now()
	A.do(
		chromedp.Click(chromedp.ID("signout-others")),
		chromedp.WaitNotPresent(chromedp.CSS(`#sessions tbody tr:not(.current)`)),
	)
	B.waitRefused(svcURL+"/api/protected", clicked)

	A.do(
		chromedp.SendKeys(chromedp.ID("current-password"), "not-my-password"),
		chromedp.SendKeys(chromedp.ID("new-password"), "Another1234!"),
		chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#password-error:not(:empty)`)),
		chromedp.SetValue(chromedp.ID("current-password"), a.Password),
		chromedp.SetValue(chromedp.ID("new-password"), "Another1234!"),
		chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#password-status:not(:empty)`)),
	)
	if body := A.bodyText(svcURL + "/api/protected"); !strings.Contains(body, "Welcome authenticated user") {
		t.Fatalf("A after changing its password: %q; want its session kept", body)
	}

	A.do(chromedp.Navigate(authURL+"/account"), chromedp.WaitVisible(chromedp.ID("signout")))
	access := A.cookies(authURL)["authmesh_access"]
	if access == nil {
		t.Fatal("A has no access cookie before signing out")
	}
	A.do(chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
	if cs := A.cookies(authURL); cs["authmesh_access"] != nil || cs["authmesh_refresh"] != nil {
		t.Errorf("cookies after signing out: %v; want both cleared", cs)
	}
	// The token the cookie held is revoked, not merely forgotten.
	waitStatus(t, svcURL+"/api/protected", access.Value, http.StatusUnauthorized, 5*time.Second)
}

// checkNames checks that each control's accessible name, as Chromium
// computes it for screen readers, is one of names and equals its visible
// label, and that every name is there.
func checkNames(t *testing.T, ctx context.Context, names ...string) {
	t.Helper()
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatalf("accessibility tree: %v", err)
	}
	found := map[string]bool{}
	for _, n := range tree.Nodes {
		if n.Ignored || n.Role == nil || n.Name == nil {
			continue
		}
		var role, name string
		_ = json.Unmarshal(n.Role.Value, &role)
		_ = json.Unmarshal(n.Name.Value, &name)
		if role == "button" || role == "textbox" {
			found[name] = true
		}
	}
	// The visible text of each control: a button's own, an input's label.
	visible := eval[[]string](t, ctx, `[...document.querySelectorAll('button, input')]
		.filter(e => e.offsetParent !== null)
		.map(e => e.tagName === 'BUTTON' ? e.innerText : document.querySelector('label[for="' + e.id + '"]').innerText)`)
	shown := map[string]bool{}
	for _, v := range visible {
		shown[v] = true
	}
	for _, name := range names {
		if !found[name] {
			t.Errorf("no button or text field has the accessible name %q (names: %v)", name, found)
		}
		if !shown[name] {
			t.Errorf("no visible control is labelled %q (labels: %q)", name, visible)
		}
	}
}

// checkCookies checks the flags of the session cookies and that script
// cannot read them.
func checkCookies(t *testing.T, p *profile, base string) {
	t.Helper()
	cs := p.cookies(base)
	for _, want := range []struct{ name, path string }{{"authmesh_access", "/"}, {"authmesh_refresh", "/auth"}} {
		c, ok := cs[want.name]
		if !ok {
			t.Fatalf("no %s cookie; have %v", want.name, cs)
		}
		if !c.HTTPOnly || c.Path != want.path || c.SameSite.String() != "Lax" || c.Secure || c.Session {
			t.Errorf("%s: HttpOnly=%v Path=%q SameSite=%q Secure=%v Session=%v; want HttpOnly, Path=%s, SameSite=Lax, not Secure over http, with an expiry",
				want.name, c.HTTPOnly, c.Path, c.SameSite, c.Secure, c.Session, want.path)
		}
	}
	if dc := eval[string](t, p.ctx, `document.cookie`); strings.Contains(dc, "authmesh") {
		t.Errorf("document.cookie = %q: a token is exposed to script", dc)
	}
}

// crossSiteForms submits forms from another origin of the same site (a
// sibling port: the SameSite=Lax cookies go along, as they would from a
// sibling subdomain) to a microservice's state-changing endpoint and to
// the auth service's logout. Both are refused with 403, and the session
// survives. A same-origin script sending the transport header passes.
func crossSiteForms(t *testing.T, p *profile, authURL, svcURL string) {
	t.Helper()
	var mu sync.Mutex
	target := ""
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="POST" action="%s"><input name="x" value="1"></form><script>document.getElementById("f").submit()</script>`, target)
	}))
	defer evil.Close()
	for _, tc := range []struct{ name, action, dest string }{
		{"microservice POST", svcURL + "/api/greetings", svcURL},
		{"auth service logout", authURL + "/auth/logout", authURL},
	} {
		mu.Lock()
		target = tc.action
		mu.Unlock()
		p.do(chromedp.Navigate(evil.URL + "/"))
		ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.href.startsWith(%q) && document.readyState === "complete"`, tc.dest)))
		cancel()
		if err != nil {
			t.Fatalf("%s: the form did not submit: %v", tc.name, err)
		}
		body := eval[string](t, p.ctx, `document.body.innerText`)
		if !strings.Contains(strings.ToLower(body), "cross-site request refused") {
			t.Errorf("%s from %s: got %q; want a 403 refusing a cross-site request", tc.name, evil.URL, body)
		}
	}
	if body := p.bodyText(svcURL + "/api/protected"); !strings.Contains(body, "Welcome authenticated user") {
		t.Fatalf("after the forged forms: GET /api/protected: %q", body)
	}
	// The page's own script, same origin, with the header: accepted.
	p.do(chromedp.Navigate(svcURL + "/api/public"))
	got := eval[string](t, p.ctx, `fetch("/api/greetings", {method: "POST", credentials: "include", headers: {"X-Authmesh-Transport": "cookie"}}).then(r => r.status + " " + r.statusText)`)
	if got != "200 OK" {
		t.Errorf("same-origin POST with the transport header: %s; want 200 OK", got)
	}
	got = eval[string](t, p.ctx, `fetch("/api/greetings", {method: "POST", credentials: "include"}).then(r => String(r.status))`)
	if got != "403" {
		t.Errorf("same-origin POST without the transport header: %s; want 403", got)
	}
}

// fetchResult is what the page reports of concurrent authmesh.fetch calls.
type fetchResult struct {
	Ms       float64
	Statuses []int
	OK       bool
}

// concurrentFetch runs n authmesh.fetch calls of the sessions query at
// once in ctx's tab.
func concurrentFetch(t *testing.T, ctx context.Context, n int) fetchResult {
	t.Helper()
	r, err := tryConcurrentFetch(ctx, n)
	if err != nil {
		t.Fatalf("authmesh.fetch: %v", err)
	}
	return r
}

// tryConcurrentFetch is concurrentFetch for goroutines other than the test's.
func tryConcurrentFetch(ctx context.Context, n int) (fetchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[fetchResult](fmt.Sprintf(`(async () => {
		const body = JSON.stringify({query: "{ sessions { id current } }"});
		const t0 = performance.now();
		const rs = await Promise.all(Array.from({length: %d}, () => authmesh.fetch("/graphql",
			{method: "POST", headers: {"Content-Type": "application/json"}, body})));
		const Ms = performance.now() - t0;
		const bodies = await Promise.all(rs.map(r => r.json()));
		return {Ms, Statuses: rs.map(r => r.status), OK: bodies.every(b => b.data && b.data.sessions.some(s => s.current))};
	})()`, n), chromedp.EvalAwaitPromise))
}

// The access cookie expires and the script refreshes it transparently:
// concurrent 401s share one refresh, and two tabs refreshing at once both
// stay signed in.
func TestBrowserRefresh(t *testing.T) {
	for i, m := range browserModes() {
		t.Run(m.name, func(t *testing.T) {
			auth, _ := m.deploy(t, map[string]string{"ACCESS_TOKEN_TTL": "2s", "REFRESH_REUSE_GRACE": "1ms"})
			a := account{Email: fmt.Sprintf("refresh%d@example.com", i), Password: "Test1234!"}
			gql(t, auth.URL, fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message } }`, a.Email, a.Password), "")
			p := newProfile(t)
			p.signIn(auth.URL, a)
			tab2, cancel := chromedp.NewContext(p.ctx)
			defer cancel()
			if err := chromedp.Do(tab2); err != nil { // opens the tab, with no deadline
				t.Fatalf("open a second tab: %v", err)
			}
			doIn(t, tab2, chromedp.Navigate(auth.URL+"/account"), chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr[data-current="true"]`)))

			expired := func() {
				testenv.WaitFor(t, "the access cookie to expire", func() bool {
					_, ok := p.cookies(auth.URL)["authmesh_access"]
					return !ok
				})
			}
			expired()
			refresh := "POST " + auth.URL + "/auth/refresh"
			before := p.count(refresh)
			r := concurrentFetch(t, p.ctx, 5)
			if !r.OK || p.count(refresh)-before != 1 {
				t.Fatalf("5 concurrent calls after the access cookie expired: statuses %v, ok %v, %d refreshes; want 200s over one refresh",
					r.Statuses, r.OK, p.count(refresh)-before)
			}
			t.Logf("refresh latency seen by the browser: 401, refresh and retry in %.1f ms (5 concurrent calls, one refresh)", r.Ms)

			// Two tabs of one browser find the cookie expired at once.
			expired()
			var wg sync.WaitGroup
			results := make([]fetchResult, 2)
			errs := make([]error, 2)
			for i, ctx := range []context.Context{p.ctx, tab2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = tryConcurrentFetch(ctx, 2)
				}()
			}
			wg.Wait()
			for i, r := range results {
				if errs[i] != nil {
					t.Fatalf("tab %d: %v", i+1, errs[i])
				}
				if !r.OK {
					t.Errorf("tab %d after a simultaneous refresh: statuses %v; want both tabs still signed in", i+1, r.Statuses)
				}
			}
			if r := concurrentFetch(t, tab2, 1); !r.OK {
				t.Errorf("tab 2 afterwards: %v; want signed in", r.Statuses)
			}
		})
	}
}
