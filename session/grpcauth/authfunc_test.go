package grpcauth_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// serveAuthFunc starts a real gRPC server whose only authentication is
// go-grpc-middleware's auth interceptors over grpcauth.AuthFunc(v, opts...).
func serveAuthFunc(t *testing.T, v session.Validator, opts ...grpcauth.Option) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	af := auth.AuthFunc(grpcauth.AuthFunc(v, opts...))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(af)),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(af)))
	srv.RegisterService(echoService(), struct{}{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestAuthFuncPerMethod: AuthFunc with per-method options, behind
// go-grpc-middleware's interceptors, applies the scope and audience of the
// method called (unary and streaming) so handlers need not call
// CheckScope, lets exempt methods through without a token, and puts the
// claims in the handler's context.
func TestAuthFuncPerMethod(t *testing.T) {
	v := newValidator(t, session.Config{IgnoreRevocations: true})
	cc := serveAuthFunc(t, v,
		grpcauth.Exempt(openMethod, openWatch),
		// Declared after the scopes: audiences are checked first anyway.
		grpcauth.ScopesByMethod(map[string][]string{
			whoamiMethod: {"echo:whoami"},
			watchMethod:  {"echo:watch"},
		}),
		grpcauth.RequireAudience("/test.Echo/", "echo"))
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
		{"stream scope only", svc("echo", "echo:watch"), codes.PermissionDenied, codes.OK},
		{"another audience, no scope", svc("other"), codes.Unauthenticated, codes.Unauthenticated},
		{"user token", user, codes.Unauthenticated, codes.Unauthenticated},
		{"forged", user + "x", codes.Unauthenticated, codes.Unauthenticated},
		{"none", "", codes.Unauthenticated, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uwho, uerr, who, err := callBoth(t, cc, tt.tok)
			if got := status.Code(uerr); got != tt.unary || (got == codes.OK && uwho != "caller") {
				t.Errorf("unary: got %v, user %q; want %v", got, uwho, tt.unary)
			}
			if got := status.Code(err); got != tt.stream || (got == codes.OK && who != "caller") {
				t.Errorf("stream: got %v, user %q; want %v", got, who, tt.stream)
			}
			if st := status.Convert(err); st.Code() == codes.PermissionDenied && st.Message() != session.InsufficientScopeBody {
				t.Errorf("message %q; want %q", st.Message(), session.InsufficientScopeBody)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if who, err := callUnary(ctx, cc, openMethod); err != nil || who != "" {
		t.Fatalf("exempt unary method without a token: %q, %v; want served without claims", who, err)
	}
	if who, err := callStream(ctx, cc, openWatch); err != nil || who != "" {
		t.Fatalf("exempt stream without a token: %q, %v; want served without claims", who, err)
	}
}

// TestAuthFuncOutsideACall: with per-method options and no method in the
// context AuthFunc fails closed; without them it only authenticates.
func TestAuthFuncOutsideACall(t *testing.T) {
	v := newValidator(t, session.Config{IgnoreRevocations: true})
	raw, _ := mint(t, issuer(t, secret, nil), "user-1")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+raw))
	if _, err := grpcauth.AuthFunc(v, grpcauth.RequireScope(whoamiMethod, "x"))(ctx); status.Code(err) != codes.Internal {
		t.Fatalf("rules without a method: %v; want Internal", err)
	}
	actx, err := grpcauth.AuthFunc(v)(ctx)
	if id, _ := session.GetUserID(actx); err != nil || id != "user-1" {
		t.Fatalf("plain AuthFunc: %q, %v; want user-1", id, err)
	}
}
