package grpcauth_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// BenchmarkUnaryInterceptor is the interceptor's own cost: a bare handler
// against the same handler behind the interceptor, with a cached token.
func BenchmarkUnaryInterceptor(b *testing.B) {
	v := newValidator(b, session.Config{IgnoreRevocations: true})
	raw, _ := mint(b, issuer(b, secret, nil), "user-1")
	handler := func(ctx context.Context, _ any) (any, error) {
		id, _ := session.GetUserID(ctx)
		return id, nil
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+raw))
	info := &grpc.UnaryServerInfo{FullMethod: whoamiMethod}
	ic := grpcauth.UnaryServerInterceptor(v)
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := handler(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("intercepted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ic(ctx, nil, info, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUnaryCall is a whole call through a real in-process server and
// client, without and with the interceptor.
func BenchmarkUnaryCall(b *testing.B) {
	v := newValidator(b, session.Config{IgnoreRevocations: true})
	raw, _ := mint(b, issuer(b, secret, nil), "user-1")
	creds := grpc.PerRPCCredentials(&grpcauth.Credentials{Token: grpcauth.StaticToken(raw).Token, AllowInsecure: true})
	for _, tc := range []struct {
		name string
		v    session.Validator
	}{
		{"bare", nil},
		{"intercepted", v},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cc, err := serveWith(b, tc.v, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := callUnary(ctx, cc, whoamiMethod, creds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
