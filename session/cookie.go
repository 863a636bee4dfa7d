package session

import (
	"net/http"
	"strings"

	"github.com/authmesh/authmesh/internal/bearer"
	"github.com/authmesh/authmesh/internal/origin"
)

// DefaultAccessCookieName is the name of the auth service's access-token
// cookie (its cookie transport) and the default of Config.AccessCookieName.
const DefaultAccessCookieName = "authmesh_access"

// NoCookie as Config.AccessCookieName makes the middleware read no cookie:
// only the Authorization header authenticates.
const NoCookie = "-"

// TransportHeader, set to TransportCookie, marks a request of the cookie
// transport. The authmesh browser script sends it with every request it
// makes; the middleware requires it (with an acceptable Origin) on a
// state-changing request that a cookie authenticates.
const (
	TransportHeader = origin.TransportHeader
	TransportCookie = origin.TransportCookie
)

// ForbiddenBody starts the body of every 403 the middleware writes for a
// cookie-authenticated request that fails the CSRF check; the rest says
// what to fix.
const ForbiddenBody = "Cross-site request refused"

// webAuth is how the middleware finds an access token in a browser's
// request and checks a cookie-authenticated request's origin.
type webAuth struct {
	cookie string // "" reads no cookie
	policy *origin.Policy
	sv     *SessionValidator // nil for any other Validator
}

// webAuthFor returns v's cookie settings: its Config's for a
// *SessionValidator, the defaults (the auth service's cookie name, no
// origin but the service's own) for any other Validator.
func webAuthFor(v Validator) webAuth {
	w := webAuth{cookie: DefaultAccessCookieName}
	if sv, ok := v.(*SessionValidator); ok {
		w.sv = sv
		w.cookie = sv.cfg.AccessCookieName
		// withDefaults has checked the list.
		w.policy, _ = origin.New(sv.cfg.AllowedOrigins)
	}
	if w.cookie == NoCookie {
		w.cookie = ""
	}
	return w
}

// token returns r's access token: the Authorization header's when there is
// one, else the access cookie's (fromCookie).
func (w webAuth) token(r *http.Request) (raw string, fromCookie bool) {
	if h := authorization(r); h != "" || w.cookie == "" {
		if w.sv != nil {
			return w.sv.bearer(h), false
		}
		return ParseBearer(h), false
	}
	c, err := r.Cookie(w.cookie)
	if err != nil || c.Value == "" || len(c.Value) > bearer.MaxHeaderBytes {
		return "", false
	}
	return c.Value, true
}

// csrf returns nil unless r is cookie-authenticated, changes state, and
// fails the origin check (origin.Policy.Check).
func (w webAuth) csrf(r *http.Request, fromCookie bool) error {
	if !fromCookie || origin.Safe(r) {
		return nil
	}
	return w.policy.Check(r)
}

// forbid answers a request refused by the CSRF check.
func forbid(w http.ResponseWriter, err error) {
	http.Error(w, ForbiddenBody+": "+strings.TrimPrefix(err.Error(), "origin: "), http.StatusForbidden)
}

// CORSMiddleware answers CORS for v's Config.AllowedOrigins, so that a
// single-page app on one of them may call the service with the access
// cookie: credentials allowed for those origins only, preflights answered
// (403 for any other origin), nothing allowed when the list is empty.
// Wrap it outside HTTPMiddleware, so that preflights, which carry no
// credentials, are answered before authentication.
func CORSMiddleware(v Validator) func(http.Handler) http.Handler {
	return webAuthFor(v).policy.CORS
}
