package grpcauth_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// exampleToken stands in for the auth service's login.
func exampleToken(secret, userID string) string {
	keys, _ := token.NewHMACKeys([]byte(secret))
	iss, _ := token.NewIssuer(keys, token.IssuerConfig{})
	raw, _, _ := iss.IssueAccess(userID, "session-1", time.Time{})
	return raw
}

// A gRPC server whose calls need an access token, except the health and
// reflection services; a client sending its token with every call.
func ExampleUnaryServerInterceptor() {
	const secret = "your-super-secret-jwt-key-here"
	// A real service sets RedisAddr or AuthURL to see logouts.
	v, err := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	exempt := grpcauth.Exempt(grpcauth.HealthService, grpcauth.ReflectionService, grpcauth.ReflectionServiceV1Alpha)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(v, exempt)),
		grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(v, exempt)),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer()) // exempt
	reflection.Register(srv)                               // exempt
	// ... register the service's own (protected) servers here.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	// Over the network, use TLS and leave AllowInsecure false.
	creds := &grpcauth.Credentials{
		Token:         func(context.Context) (string, error) { return exampleToken(secret, "user-42"), nil },
		AllowInsecure: true, // loopback only
	}
	cc, _ := grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	// Output:
	// SERVING <nil>
}

// AuthFunc plugs the validator into go-grpc-middleware's auth interceptor;
// its selector exempts the health service. Handlers read the caller with
// session.GetUserID, as over HTTP.
func ExampleAuthFunc() {
	const secret = "your-super-secret-jwt-key-here"
	v, err := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	protected := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName
	})
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(auth.AuthFunc(grpcauth.AuthFunc(v))), protected)),
		grpc.ChainStreamInterceptor(selector.StreamServerInterceptor(auth.StreamServerInterceptor(auth.AuthFunc(grpcauth.AuthFunc(v))), protected)),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv) // protected here: listing services needs a token
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	cc, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)

	listServices := func(opts ...grpc.CallOption) error {
		s, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(context.Background(), opts...)
		if err != nil {
			return err
		}
		// A Send that finds the stream already ended returns io.EOF; the
		// server's status, the refusal, comes from Recv either way.
		err = s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
		if err != nil && err != io.EOF {
			return err
		}
		_, err = s.Recv()
		return err
	}
	err = listServices()
	fmt.Println(status.Code(err), status.Convert(err).Message())
	creds := &grpcauth.Credentials{Token: grpcauth.StaticToken(exampleToken(secret, "user-42")).Token, AllowInsecure: true}
	fmt.Println(listServices(grpc.PerRPCCredentials(creds)))
	// Output:
	// SERVING <nil>
	// Unauthenticated Invalid or expired token
	// <nil>
}
