package grpcauth_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// TestRequireScopeAndAudience: per-method rules refuse a token without the
// audience (Unauthenticated) or a scope (PermissionDenied), on unary calls
// and streams alike, and leave other methods alone.
func TestRequireScopeAndAudience(t *testing.T) {
	v := newValidator(t, session.Config{IgnoreRevocations: true})
	cc := serve(t, v,
		grpcauth.RequireAudience("/test.Echo/", "echo"),
		grpcauth.RequireScope(whoamiMethod, "echo:whoami"),
		grpcauth.RequireScope(watchMethod, "echo:watch"),
		grpcauth.Exempt(openMethod, openWatch))
	iss := issuer(t, secret, nil)
	svc := func(aud string, scopes ...string) string { return serviceToken(t, iss, aud, scopes...) }
	user, _ := mint(t, iss, "user-1")
	tests := []struct {
		name   string
		tok    string
		unary  codes.Code
		stream codes.Code
	}{
		{"both scopes", svc("echo", "echo:whoami", "echo:watch"), codes.OK, codes.OK},
		{"unary scope only", svc("echo", "echo:whoami"), codes.OK, codes.PermissionDenied},
		{"no scope", svc("echo"), codes.PermissionDenied, codes.PermissionDenied},
		{"another audience", svc("other", "echo:whoami", "echo:watch"), codes.Unauthenticated, codes.Unauthenticated},
		{"user token", user, codes.Unauthenticated, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, uerr, _, err := callBoth(t, cc, tt.tok)
			if got := status.Code(uerr); got != tt.unary {
				t.Errorf("unary: got %v; want %v", got, tt.unary)
			}
			if got := status.Code(err); got != tt.stream {
				t.Errorf("stream: got %v; want %v", got, tt.stream)
			}
			if st := status.Convert(err); st.Code() == codes.PermissionDenied && st.Message() != session.InsufficientScopeBody {
				t.Errorf("message %q; want %q", st.Message(), session.InsufficientScopeBody)
			}
		})
	}
	// An exempt method is not subject to the service-wide audience rule.
	if _, err := callUnary(context.Background(), cc, openMethod); err != nil {
		t.Fatalf("exempt method: %v", err)
	}
}

// TestCheckScope: the per-handler check answers like the per-method rule.
func TestCheckScope(t *testing.T) {
	c := &session.Claims{UserID: "caller", ClientID: "caller", Scope: "a b"}
	ctx := session.WithClaims(context.Background(), c)
	for _, tt := range []struct {
		ctx    context.Context
		scopes []string
		want   codes.Code
	}{
		{ctx, []string{"a"}, codes.OK},
		{ctx, []string{"a", "b"}, codes.OK},
		{ctx, []string{"c"}, codes.PermissionDenied},
		{context.Background(), []string{"a"}, codes.Unauthenticated},
	} {
		if got := status.Code(grpcauth.CheckScope(tt.ctx, tt.scopes...)); got != tt.want {
			t.Errorf("CheckScope(%v): got %v; want %v", tt.scopes, got, tt.want)
		}
	}
}
