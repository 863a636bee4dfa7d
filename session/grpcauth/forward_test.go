package grpcauth_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

const relayMethod = "/test.Relay/Whoami"

// relayService answers Whoami by calling B's Whoami with the incoming
// call's context and the credentials given, and returning its answer.
func relayService(b *grpc.ClientConn, creds grpc.CallOption) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.Relay",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Whoami", Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) {
				id, err := callUnary(ctx, b, whoamiMethod, creds)
				if err != nil {
					return nil, err
				}
				return wrapperspb.String("via A: " + id), nil
			}
			return ic(ctx, nil, &grpc.UnaryServerInfo{Server: srv, FullMethod: relayMethod}, h)
		}}},
	}
}

// TestForwardChain: user → A → B over gRPC, each validating on its own;
// A forwards the caller's token with Forward, and B sees the user. A call
// made without an authenticated request's context fails before it is sent.
func TestForwardChain(t *testing.T) {
	v := newValidator(t, session.Config{IgnoreRevocations: true})
	b := serve(t, v)
	creds := grpc.PerRPCCredentials(forwardInsecure())

	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(v)))
	srv.RegisterService(relayService(b, creds), struct{}{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	a, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	raw, _ := mint(t, issuer(t, secret, nil), "user-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := callUnary(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+raw), a, relayMethod)
	if err != nil || got != "via A: user-1" {
		t.Fatalf("user → A → B: got %q, %v; want %q", got, err, "via A: user-1")
	}
	_, err = callUnary(ctx, b, whoamiMethod, creds)
	// grpc reports the credentials' failure as a status carrying its text.
	if err == nil || !strings.Contains(status.Convert(err).Message(), grpcauth.ErrNoTokenToForward.Error()) {
		t.Fatalf("forwarding without a caller: got %v; want ErrNoTokenToForward", err)
	}
}

// forwardInsecure is Forward over the tests' insecure in-memory transport.
func forwardInsecure() *grpcauth.Credentials {
	c := grpcauth.Forward()
	c.AllowInsecure = true
	return c
}
