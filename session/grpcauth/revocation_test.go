package grpcauth_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

const chatMethod = "/test.Chat/Chat"

// chatService is a bidirectional stream: it sends "hello", then answers
// every message with "alive" while its context is not done, and returns
// its context's error once it is.
func chatService() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.Chat",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Chat", ServerStreams: true, ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.SendMsg(wrapperspb.String("hello")); err != nil {
					return err
				}
				in := make(chan error)
				go func() {
					for {
						err := ss.RecvMsg(new(wrapperspb.StringValue))
						select {
						case in <- err:
						case <-ss.Context().Done(): // the handler has returned
							return
						}
						if err != nil {
							return
						}
					}
				}()
				for {
					select {
					case <-ss.Context().Done():
						return ss.Context().Err()
					case err := <-in:
						if err != nil {
							return err
						}
						if err := ss.SendMsg(wrapperspb.String("alive")); err != nil {
							return err
						}
					}
				}
			}}},
	}
}

// TestStreamEndsOnRevocation: an open stream ends with Unauthenticated
// ("Invalid or expired token") when its session is revoked while it runs,
// unless the server keeps streams (KeepStreamsOnRevocation).
func TestStreamEndsOnRevocation(t *testing.T) {
	rs := testenv.StartRedis(t)
	store := revoketest.RedisStore(t, rs.Client(t), redisstore.Config{})
	v := newValidator(t, session.Config{RedisAddr: rs.Addr})
	testenv.WaitFor(t, "validator ready", func() bool { return v.Health().Ready })
	iss := issuer(t, secret, nil)

	for _, tt := range []struct {
		name string
		opts []grpcauth.Option
		keep bool
	}{
		{"default", nil, false},
		{"KeepStreamsOnRevocation", []grpcauth.Option{grpcauth.KeepStreamsOnRevocation()}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc := serveChat(t, v, tt.opts...)
			raw, c, err := iss.IssueAccess("user-"+tt.name, "sess-"+tt.name, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+raw)
			s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, chatMethod)
			if err != nil {
				t.Fatal(err)
			}
			out := new(wrapperspb.StringValue)
			if err := s.RecvMsg(out); err != nil || out.GetValue() != "hello" {
				t.Fatalf("first message: %q, %v", out.GetValue(), err)
			}
			if _, err := store.Revoke(context.Background(), revoke.Entry{
				Kind: revoke.KindSession, ID: c.SessionID, Expires: time.Now().Add(time.Hour).Unix(),
			}); err != nil {
				t.Fatal(err)
			}
			if tt.keep {
				testenv.WaitFor(t, "revocation applied", func() bool {
					_, err := v.ValidateAccessToken(raw)
					return errors.Is(err, session.ErrRevoked)
				})
				if err := s.SendMsg(wrapperspb.String("ping")); err != nil {
					t.Fatal(err)
				}
				if err := s.RecvMsg(out); err != nil || out.GetValue() != "alive" {
					t.Fatalf("kept stream after revocation: %q, %v", out.GetValue(), err)
				}
				return
			}
			err = s.RecvMsg(out)
			if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != session.UnauthorizedBody {
				t.Fatalf("stream ended with %v %q; want Unauthenticated %q", st.Code(), st.Message(), session.UnauthorizedBody)
			}
		})
	}
}

// serveChat serves chatService behind the stream interceptor.
func serveChat(t *testing.T, v session.Validator, opts ...grpcauth.Option) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(v, opts...)))
	srv.RegisterService(chatService(), struct{}{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
