package grpcauth

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/session"
)

// rule is what one method (or, ending in "/", one service) requires of a
// token beyond being valid.
type rule struct {
	method string
	scopes []string
	aud    string
	// verified requires the email_verified claim (RequireVerifiedEmail).
	verified bool
}

// RequireScope makes the interceptors (and AuthFunc) refuse calls of method whose token
// was not granted every one of scopes, with codes.PermissionDenied and the
// message "Insufficient scope" (session.InsufficientScopeBody). method is
// a full method name ("/pkg.Service/Method") or a service's prefix ending
// in "/" for all its methods. Several rules may apply to one call: all
// must hold.
func RequireScope(method string, scopes ...string) Option {
	return func(o *options) { o.rules = append(o.rules, rule{method: method, scopes: scopes}) }
}

// ScopesByMethod is RequireScope for each entry of scopes: a full method
// name ("/pkg.Service/Method"), or a service's prefix ending in "/", to
// the scopes its calls' tokens must all have been granted. It suits a
// table kept beside the service's registration:
//
//	grpcauth.ScopesByMethod(map[string][]string{
//		"/shop.v1.Orders/List":   {"orders:read"},
//		"/shop.v1.Orders/Cancel": {"orders:write"},
//	})
func ScopesByMethod(scopes map[string][]string) Option {
	return func(o *options) {
		for method, s := range scopes {
			o.rules = append(o.rules, rule{method: method, scopes: s})
		}
	}
}

// RequireAudience makes the interceptors refuse calls of method (as for
// RequireScope) whose token does not name aud among its audiences, with
// codes.Unauthenticated "Invalid or expired token": a token meant for
// another service is no token for this one.
func RequireAudience(method, aud string) Option {
	return func(o *options) { o.rules = append(o.rules, rule{method: method, aud: aud}) }
}

// RequireVerifiedEmail makes the interceptors refuse calls of method (as
// for RequireScope) whose token does not state a verified email address
// (session.Claims.EmailVerified), with codes.PermissionDenied "Email
// address not verified" (session.EmailNotVerifiedBody).
func RequireVerifiedEmail(method string) Option {
	return func(o *options) { o.rules = append(o.rules, rule{method: method, verified: true}) }
}

// CheckVerifiedEmail returns nil when the call's token states a verified
// email address, and otherwise the status a handler should return:
// PermissionDenied, or Unauthenticated when ctx carries no claims.
func CheckVerifiedEmail(ctx context.Context) error {
	c, ok := session.GetClaims(ctx)
	if !ok {
		return errUnauthenticated()
	}
	if !c.EmailVerified {
		return errNotVerified()
	}
	return nil
}

func errNotVerified() error {
	return status.Error(codes.PermissionDenied, session.EmailNotVerifiedBody)
}

// authorize applies the rules that match fullMethod to the claims in ctx.
func (o *options) authorize(ctx context.Context, fullMethod string) error {
	if len(o.rules) == 0 {
		return nil
	}
	c, ok := session.GetClaims(ctx)
	if !ok {
		return errUnauthenticated()
	}
	// Audiences first, whatever the order of the options: a token for
	// another service is no token here, whatever its scopes.
	for _, r := range o.rules {
		if r.aud != "" && r.matches(fullMethod) && !c.HasAudience(r.aud) {
			return errUnauthenticated()
		}
	}
	for _, r := range o.rules {
		if r.matches(fullMethod) && !c.HasScope(r.scopes...) {
			return errInsufficientScope()
		}
		if r.verified && r.matches(fullMethod) && !c.EmailVerified {
			return errNotVerified()
		}
	}
	return nil
}

// matches reports whether the rule applies to fullMethod: its name, or a
// method of the service its "/"-ending prefix names.
func (r rule) matches(fullMethod string) bool {
	return r.method == fullMethod || strings.HasSuffix(r.method, "/") && strings.HasPrefix(fullMethod, r.method)
}

// CheckScope returns nil when the call's token (its claims in ctx) was
// granted every one of scopes, and otherwise the status a handler should
// return: PermissionDenied "Insufficient scope", or Unauthenticated when
// ctx carries no claims. For decisions finer than per method.
func CheckScope(ctx context.Context, scopes ...string) error {
	c, ok := session.GetClaims(ctx)
	if !ok {
		return errUnauthenticated()
	}
	if !c.HasScope(scopes...) {
		return errInsufficientScope()
	}
	return nil
}

func errInsufficientScope() error {
	return status.Error(codes.PermissionDenied, session.InsufficientScopeBody)
}
