package session

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// tokenKey is the context key of the raw access token of a request.
type tokenKey struct{}

// NewContext returns ctx carrying c, the verified claims of the access
// token raw, as HTTPMiddleware does: GetClaims reads the claims (a copy of
// c) and GetToken the token, which ForwardingTransport and grpcauth's
// Forward send on to the services this one calls. For transports other
// than net/http (session/grpcauth uses it) and for tests of handlers.
func NewContext(ctx context.Context, c *Claims, raw string) context.Context {
	cc := &claimsContext{Context: ctx, raw: raw}
	c.cloneInto(&cc.owned)
	return cc
}

// GetToken returns the access token that authenticated the request ctx
// belongs to (put there by HTTPMiddleware, StreamingHTTPMiddleware, the
// gRPC interceptors or NewContext), to forward it to another service.
// Never log it.
func GetToken(ctx context.Context) (string, bool) {
	raw, ok := ctx.Value(tokenKey{}).(string)
	return raw, ok && raw != ""
}

// ErrInsecureForward is returned by ForwardingTransport for a request it
// would send a token on over plain http to a host other than loopback.
var ErrInsecureForward = errors.New("session: refusing to forward an access token over plain http to a host other than loopback (use https, or set ForwardingTransport.AllowInsecure for a network you control)")

// ForwardingTransport is an http.RoundTripper that sends on, with each
// outgoing request, the access token that authenticated the incoming
// request whose context the outgoing one carries (GetToken), as
// "Authorization: Bearer <token>": a chain user → A → B is then
// authenticated at B as the user, by B's own validator. Build the
// outgoing request with http.NewRequestWithContext(r.Context(), ...).
//
// A request that already has an Authorization header, or whose context
// carries no token, is sent unchanged. The token goes only over https or
// to a loopback host unless AllowInsecure is set. It is safe for
// concurrent use.
type ForwardingTransport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// AllowInsecure forwards tokens over plain http to any host. Anyone on
	// the network path could then read and replay them: set it only for a
	// network you control (a mesh with mTLS).
	AllowInsecure bool
}

var _ http.RoundTripper = (*ForwardingTransport)(nil)

// RoundTrip sends req with the caller's token added; it does not modify
// req.
func (t *ForwardingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	raw, ok := GetToken(req.Context())
	if !ok || req.Header.Get("Authorization") != "" {
		return base.RoundTrip(req)
	}
	if req.URL.Scheme != "https" && !t.AllowInsecure && !isLoopback(req.URL.Hostname()) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, ErrInsecureForward
	}
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+raw)
	return base.RoundTrip(out)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Authenticate validates raw as an access token with v and returns ctx
// carrying its claims and the token (GetClaims, GetToken), as the
// middleware does; for a *SessionValidator the claims and the context are
// one allocation. For transports other than net/http: session/grpcauth's
// interceptors use it.
func Authenticate(ctx context.Context, v Validator, raw string) (context.Context, error) {
	return withValidatedClaims(ctx, v, raw)
}
