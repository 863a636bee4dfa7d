package grpcauth_test

import (
	"google.golang.org/grpc"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// Per-method requirements: every method of the orders service needs a
// token meant for "orders"; listing needs the scope orders:read and
// cancelling orders:write. Health stays open.
func ExampleRequireScope() {
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: "your-super-secret-jwt-key-here", IgnoreRevocations: true})
	defer v.Close()
	opts := []grpcauth.Option{
		grpcauth.Exempt(grpcauth.HealthService),
		grpcauth.RequireAudience("/shop.v1.Orders/", "orders"),
		grpcauth.RequireScope("/shop.v1.Orders/List", "orders:read"),
		grpcauth.RequireScope("/shop.v1.Orders/Cancel", "orders:write"),
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(v, opts...)),
		grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(v, opts...)),
	)
	defer srv.Stop()
	// Register services and Serve as usual.
}
