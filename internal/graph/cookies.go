package graph

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph/schema"
)

// TokenCookies carries the tokens of the cookie transport: a request with
// the header X-Authmesh-Transport: cookie is authenticated by the access
// cookie when it has no Authorization header, and gets the tokens a login
// or refresh issues as cookies (their fields are null in the answer). The
// caller checks such a request's origin before the handler sees it.
// Implementations must be safe for concurrent use.
type TokenCookies interface {
	// Access returns the access cookie of r, or "".
	Access(r *http.Request) string
	// Set sets the access and refresh cookies.
	Set(w http.ResponseWriter, access, refresh string, accessExpires time.Time)
	// Clear deletes both cookies.
	Clear(w http.ResponseWriter)
}

// cookieState is what the resolvers of a cookie-mode request leave for the
// handler to write once the operation is done. Mutations run one at a
// time; query fields, which run in parallel, only ever set challenge.
type cookieState struct {
	issued    *auth.TokenPair // tokens to set as cookies
	clear     bool            // the current session ended: delete the cookies
	challenge bool            // authentication failed: answer 401
}

// inCookieMode reports whether ctx is a cookie-mode request's.
func inCookieMode(ctx context.Context) bool {
	r := requestFrom(ctx)
	return r != nil && r.cookies != nil
}

// issue records tokens a cookie-mode request must get as cookies.
func issue(ctx context.Context, p auth.TokenPair) {
	if r := requestFrom(ctx); r != nil && r.cookies != nil {
		r.cookies.issued, r.cookies.clear = &p, false
	}
}

// endCurrent records that a cookie-mode request ended its own session.
func endCurrent(ctx context.Context) {
	if r := requestFrom(ctx); r != nil && r.cookies != nil {
		r.cookies.clear, r.cookies.issued = true, nil
	}
}

// refused records that a cookie-mode request's caller failed to
// authenticate with err: the answer becomes 401 with a Bearer challenge,
// which the authmesh script takes as its cue to refresh, and the cookies
// of a session that has ended are deleted.
func refused(ctx context.Context, err error) {
	r := requestFrom(ctx)
	if r == nil || r.cookies == nil || auth.ErrorCode(err) != auth.CodeUnauthenticated {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cookies.challenge = true
	if errors.Is(err, auth.ErrSessionEnded) {
		r.cookies.clear = true
	}
}

// writeCookies sets or clears the cookies of a cookie-mode request and
// returns the status to answer with.
func (h *Handler) writeCookies(w http.ResponseWriter, req *request) int {
	st := req.cookies
	switch {
	case st.clear:
		h.cfg.Cookies.Clear(w)
	case st.issued != nil:
		h.cfg.Cookies.Set(w, st.issued.Token, st.issued.RefreshToken, st.issued.ExpiresAt)
	}
	if st.challenge {
		if req.token == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

// shown is a token field's value: null in cookie mode, where the token
// travels only in an HttpOnly cookie.
func shown(ctx context.Context, tok string) *string {
	if inCookieMode(ctx) {
		return nil
	}
	return &tok
}

type loginPayloadResolver struct{}

func (loginPayloadResolver) Token(ctx context.Context, obj *auth.LoginResult) (*string, error) {
	return shown(ctx, obj.Token), nil
}

func (loginPayloadResolver) RefreshToken(ctx context.Context, obj *auth.LoginResult) (*string, error) {
	return shown(ctx, obj.RefreshToken), nil
}

type tokenPairResolver struct{}

func (tokenPairResolver) Token(ctx context.Context, obj *auth.TokenPair) (*string, error) {
	return shown(ctx, obj.Token), nil
}

func (tokenPairResolver) RefreshToken(ctx context.Context, obj *auth.TokenPair) (*string, error) {
	return shown(ctx, obj.RefreshToken), nil
}

var (
	_ schema.LoginPayloadResolver = loginPayloadResolver{}
	_ schema.TokenPairResolver    = tokenPairResolver{}
)
