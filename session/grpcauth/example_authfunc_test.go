package grpcauth_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// exampleServiceToken mints a service token (client credentials) of
// client for audience with scopes.
func exampleServiceToken(secret, client, audience string, scopes ...string) string {
	keys, _ := token.NewHMACKeys([]byte(secret))
	iss, _ := token.NewIssuer(keys, token.IssuerConfig{})
	raw, _, _ := iss.IssueService(client, []string{audience}, scopes, time.Time{})
	return raw
}

// AuthFunc with per-method requirements, behind go-grpc-middleware's auth
// interceptors: the scopes each method needs are one table, and handlers
// call no CheckScope.
func ExampleAuthFunc_perMethod() {
	const secret = "your-super-secret-jwt-key-here"
	v, err := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	authn := auth.AuthFunc(grpcauth.AuthFunc(v,
		grpcauth.RequireAudience("/grpc.health.v1.Health/", "monitoring"),
		grpcauth.ScopesByMethod(map[string][]string{
			"/grpc.health.v1.Health/Check": {"health:read"},
			"/grpc.health.v1.Health/Watch": {"health:watch"},
		})))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(authn)),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(authn)),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	cc, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	check := func(tok string) {
		creds := grpc.PerRPCCredentials(&grpcauth.Credentials{Token: grpcauth.StaticToken(tok).Token, AllowInsecure: true})
		resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{}, creds)
		if err != nil {
			fmt.Println(status.Code(err), status.Convert(err).Message())
			return
		}
		fmt.Println(resp.GetStatus())
	}
	check(exampleServiceToken(secret, "prober", "monitoring", "health:read"))
	check(exampleServiceToken(secret, "prober", "monitoring"))
	check(exampleServiceToken(secret, "prober", "billing", "health:read"))
	// Output:
	// SERVING
	// PermissionDenied Insufficient scope
	// Unauthenticated Invalid or expired token
}
