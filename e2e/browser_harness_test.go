package e2e_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// profile is one headless Chromium with a profile of its own (its own
// cookies): one person's browser. It records the URL of every request its
// tabs send.
type profile struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	requests []string // method and URL of every request, in order
}

// newProfile starts Debian's chromium headless with a fresh profile
// directory. scripts/test.sh installs it; without it the test fails.
func newProfile(t *testing.T) *profile {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: scripts/test.sh installs it (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.DisableGPU,
		// Without these Chromium reaches for Google's services, and the
		// closed network refuses its connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 760),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	p := &profile{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start chromium: %v", err)
	}
	p.record(ctx)
	return p
}

// record collects the requests of the tab of ctx until the test ends.
func (p *profile) record(ctx context.Context) {
	ctx, stop := context.WithCancel(ctx)
	events := chromedp.Events(ctx, network.RequestWillBeSent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.requests = append(p.requests, ev.Request.Method+" "+ev.Request.URL)
			p.mu.Unlock()
		}
	}()
	p.t.Cleanup(func() { stop(); <-done })
}

// Requests returns the requests recorded so far.
func (p *profile) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// count returns how many recorded requests start with prefix ("POST http://...").
func (p *profile) count(prefix string) int {
	n := 0
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// do runs actions in the profile's tab within 20s, failing the test.
func (p *profile) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	doIn(p.t, p.ctx, actions...)
}

func doIn(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for i, a := range actions {
		if err := chromedp.Do(ctx, a); err != nil {
			text, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.body ? location.href + "\n" + document.body.innerText : ""`))
			t.Fatalf("browser, step %d of %d: %v; the page:\n%s", i+1, len(actions), err, text)
		}
	}
}

// eval evaluates a JavaScript expression in ctx's tab, awaiting a promise.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// cookies returns the profile's cookies for base, by name.
func (p *profile) cookies(base string) map[string]*network.Cookie {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/auth/refresh"}})
	if err != nil {
		p.t.Fatalf("cookies: %v", err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// bodyText navigates to u (a top-level navigation: cookies, no header)
// and returns the page's text.
func (p *profile) bodyText(u string) string {
	p.t.Helper()
	p.do(chromedp.Navigate(u))
	return eval[string](p.t, p.ctx, `document.body ? document.body.innerText : ""`)
}

// signIn signs in on the account page at base.
func (p *profile) signIn(base string, a account) {
	p.t.Helper()
	p.do(
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), a.Email),
		chromedp.SendKeys(chromedp.ID("password"), a.Password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sessions tbody tr[data-current="true"]`)),
	)
}

// hosts returns the distinct host:port of the recorded requests.
func hosts(reqs []string) map[string]bool {
	out := map[string]bool{}
	for _, r := range reqs {
		_, raw, _ := strings.Cut(r, " ")
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			out[u.Host] = true
		}
	}
	return out
}

// artifact saves b as name in $TEST_ARTIFACTS, or in a temporary
// directory, and returns the path.
func artifact(t *testing.T, name string, b []byte) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
