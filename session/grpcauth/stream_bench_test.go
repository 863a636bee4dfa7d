package grpcauth_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// benchStream is the least a server stream needs for the interceptor.
type benchStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s benchStream) Context() context.Context { return s.ctx }

// BenchmarkStreamInterceptor is the stream interceptor's own cost per
// stream, side by side: the handler alone, behind the interceptor that
// watches the stream for revocation (the default), and behind it with
// KeepStreamsOnRevocation (validation only).
//
//	go test -run '^$' -bench StreamInterceptor -benchmem -count 5 ./session/grpcauth/
func BenchmarkStreamInterceptor(b *testing.B) {
	v := newValidator(b, session.Config{IgnoreRevocations: true})
	raw, _ := mint(b, issuer(b, secret, nil), "user-1")
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ss := benchStream{ctx: metadata.NewIncomingContext(parent, metadata.Pairs("authorization", "Bearer "+raw))}
	info := &grpc.StreamServerInfo{FullMethod: watchMethod, IsServerStream: true}
	handler := func(_ any, s grpc.ServerStream) error {
		if _, ok := session.GetUserID(s.Context()); !ok {
			b.Fatal("no claims")
		}
		return nil
	}
	for _, row := range []struct {
		name string
		ic   grpc.StreamServerInterceptor
	}{
		{"bare", func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, benchStream{ctx: session.WithClaims(ss.Context(), &session.Claims{UserID: "user-1"})})
		}},
		{"watched", grpcauth.StreamServerInterceptor(v)},
		{"kept", grpcauth.StreamServerInterceptor(v, grpcauth.KeepStreamsOnRevocation())},
	} {
		b.Run(row.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := row.ic(nil, ss, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
