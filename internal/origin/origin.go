// Package origin protects cookie-authenticated browser requests: it decides
// whether a request proves same-origin intent (the CSRF defence of the
// cookie transport) and answers CORS for one list of allowed origins. The
// auth service and the session middleware share it, so that both apply
// the same rules (docs/SECURITY.md, Cookie transport and CSRF).
package origin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// TransportHeader chooses the cookie transport when it carries
// TransportCookie. Being a custom header, it is also the request's proof
// of intent: a cross-site HTML form cannot send it, and a cross-origin
// script can only after a CORS preflight that only allowed origins pass.
const TransportHeader = "X-Authmesh-Transport"

// TransportCookie is TransportHeader's value for the cookie transport.
const TransportCookie = "cookie"

// Errors of Policy.Check; callers answer them with 403.
var (
	// ErrNoIntent: the request lacks TransportHeader.
	ErrNoIntent = errors.New("origin: cookie-authenticated request without the header " + TransportHeader + ": " + TransportCookie + " (the authmesh script sends it); refused as a possible cross-site request forgery")
	// ErrCrossOrigin: the request comes from an origin that is neither
	// the service's own nor an allowed one.
	ErrCrossOrigin = errors.New("origin: cross-site request refused")
)

// CookieMode reports whether r asks for the cookie transport.
func CookieMode(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get(TransportHeader)), TransportCookie)
}

// Policy is a list of allowed origins. The zero value allows none but the
// service's own. It is immutable and safe for concurrent use.
type Policy struct {
	allowed map[string]bool
}

// New returns the policy allowing origins, each scheme://host[:port] with
// no path (https://app.example.com). "*" and "null" are refused: credentials
// may only go to origins named one by one.
func New(origins []string) (*Policy, error) {
	p := &Policy{allowed: map[string]bool{}}
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		n, err := normalize(o)
		if err != nil {
			return nil, err
		}
		p.allowed[n] = true
	}
	return p, nil
}

// Split splits a comma-separated list of origins (ALLOWED_ORIGINS).
func Split(list string) []string {
	var out []string
	for _, o := range strings.Split(list, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// normalize checks an allowed origin and returns it as browsers send it:
// lower-case scheme and host, no trailing slash.
func normalize(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("origin: %q is not an origin: write scheme://host[:port], e.g. https://app.example.com (no path, no wildcard)", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Allowed reports whether o (an Origin header value) is in the list.
func (p *Policy) Allowed(o string) bool {
	return p != nil && p.allowed[strings.ToLower(o)]
}

// Len is the number of allowed origins.
func (p *Policy) Len() int {
	if p == nil {
		return 0
	}
	return len(p.allowed)
}

// sameOrigin reports whether the Origin header o names the host r was sent
// to (the scheme is not compared: behind a TLS-terminating proxy the
// service sees plain HTTP).
func sameOrigin(o string, r *http.Request) bool {
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// Check returns nil when r proves same-origin intent, and otherwise an
// error wrapping ErrNoIntent or ErrCrossOrigin whose message says what to
// fix. Proof is TransportHeader plus, from a browser, an Origin that is the
// service's own or an allowed one; without Origin, a Sec-Fetch-Site of
// same-origin or none. A request with neither header does not come from a
// browser, which always sends them on the requests CSRF forges, and passes.
func (p *Policy) Check(r *http.Request) error {
	if !CookieMode(r) {
		return ErrNoIntent
	}
	if o := r.Header.Get("Origin"); o != "" {
		if o != "null" && (sameOrigin(o, r) || p.Allowed(o)) {
			return nil
		}
		return fmt.Errorf("%w: origin %q is not allowed; add it to ALLOWED_ORIGINS", ErrCrossOrigin, o)
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
		return nil
	default:
		return fmt.Errorf("%w: Sec-Fetch-Site is %q and there is no Origin header to check against ALLOWED_ORIGINS", ErrCrossOrigin, site)
	}
}

// Safe reports whether r's method is one CSRF cannot abuse (GET, HEAD,
// OPTIONS): it must not change state.
func Safe(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}
