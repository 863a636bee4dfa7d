// Package web is the auth service's browser side: the cookie transport's
// cookies and its plain endpoints (POST /auth/refresh, POST /auth/logout),
// the CSRF guard of cookie-mode requests, the dependency-free script that
// refreshes for a web app (/authmesh.js) and the account page (/account).
package web

import (
	"net/http"
	"time"

	"github.com/authmesh/authmesh/session"
)

// Cookie names and the refresh cookie's path. The access cookie's name is
// the session package's default, so that validators read it unconfigured.
const (
	AccessCookie  = session.DefaultAccessCookieName
	RefreshCookie = "authmesh_refresh"
	// RefreshPath scopes the refresh cookie to the endpoints that use it.
	RefreshPath = "/auth"
)

// Cookies writes and reads the cookie transport's two HttpOnly cookies: the
// access token, sent to every path (and, with Domain, to sibling
// subdomains), and the refresh token, sent only under RefreshPath. The zero
// value writes SameSite=Lax host-only cookies without Secure. Cookies is a
// value and safe for concurrent use.
type Cookies struct {
	// Domain, when set, is the cookies' Domain attribute (COOKIE_DOMAIN).
	Domain string
	// SameSite is the cookies' SameSite attribute (COOKIE_SAMESITE);
	// default Lax.
	SameSite http.SameSite
	// Secure marks the cookies Secure (PUBLIC_URL is https).
	Secure bool
	// RefreshTTL is how long the refresh cookie lives (REFRESH_TOKEN_TTL).
	RefreshTTL time.Duration
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
}

func (c Cookies) cookie(name, value, path string, expires time.Time) *http.Cookie {
	ss := c.SameSite
	if ss == 0 || ss == http.SameSiteDefaultMode {
		ss = http.SameSiteLaxMode
	}
	ck := &http.Cookie{
		Name: name, Value: value, Path: path, Domain: c.Domain,
		HttpOnly: true, Secure: c.Secure, SameSite: ss,
	}
	if expires.IsZero() {
		ck.MaxAge = -1 // delete
	} else {
		ck.Expires = expires
	}
	return ck
}

// Set sets both cookies: the access cookie lapses with its token, so an
// expired access token is simply absent from requests.
func (c Cookies) Set(w http.ResponseWriter, access, refresh string, accessExpires time.Time) {
	now := time.Now
	if c.Clock != nil {
		now = c.Clock
	}
	http.SetCookie(w, c.cookie(AccessCookie, access, "/", accessExpires))
	http.SetCookie(w, c.cookie(RefreshCookie, refresh, RefreshPath, now().Add(c.RefreshTTL)))
}

// Clear deletes both cookies.
func (c Cookies) Clear(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie(AccessCookie, "", "/", time.Time{}))
	http.SetCookie(w, c.cookie(RefreshCookie, "", RefreshPath, time.Time{}))
}

// Access returns the access cookie of r, or "".
func (c Cookies) Access(r *http.Request) string { return value(r, AccessCookie) }

// Refresh returns the refresh cookie of r, or "".
func (c Cookies) Refresh(r *http.Request) string { return value(r, RefreshCookie) }

// maxCookieBytes bounds a token cookie that is read at all.
const maxCookieBytes = 8 << 10

func value(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil || len(ck.Value) > maxCookieBytes {
		return ""
	}
	return ck.Value
}
