package grpcauth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

const secret = "test-secret-that-is-at-least-32-bytes-long"

// Method names of the test service.
const (
	whoamiMethod = "/test.Echo/Whoami"
	watchMethod  = "/test.Echo/Watch"
	openMethod   = "/test.Echo/Open"
	openWatch    = "/test.Echo/OpenWatch"
)

// echoService answers every call with the caller's user id from the
// context ("" when there are no claims), through a hand-written
// ServiceDesc so the test needs no generated code.
func echoService() *grpc.ServiceDesc {
	unary := func(name string) grpc.MethodDesc {
		return grpc.MethodDesc{MethodName: name, Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) {
				id, _ := session.GetUserID(ctx)
				return wrapperspb.String(id), nil
			}
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Echo/" + name}, h)
		}}
	}
	stream := func(name string) grpc.StreamDesc {
		return grpc.StreamDesc{StreamName: name, ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			id, _ := session.GetUserID(ss.Context())
			return ss.SendMsg(wrapperspb.String(id))
		}}
	}
	return &grpc.ServiceDesc{
		ServiceName: "test.Echo",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{unary("Whoami"), unary("Open")},
		Streams:     []grpc.StreamDesc{stream("Watch"), stream("OpenWatch")},
	}
}

// serve starts a real gRPC server on an in-memory listener with the
// interceptors, and returns a client connection to it without transport
// security.
func serve(t testing.TB, v session.Validator, opts ...grpcauth.Option) *grpc.ClientConn {
	t.Helper()
	cc, err := serveWith(t, v, nil, opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// serveWith is serve with the server's options (such as TLS) and the
// client's dial options. A nil v serves without the interceptors.
func serveWith(t testing.TB, v session.Validator, srvOpts []grpc.ServerOption, opts []grpcauth.Option, dial ...grpc.DialOption) (*grpc.ClientConn, error) {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	if v != nil {
		srvOpts = append(srvOpts,
			grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(v, opts...)),
			grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(v, opts...)))
	}
	srv := grpc.NewServer(srvOpts...)
	srv.RegisterService(echoService(), struct{}{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	dial = append(dial, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	cc, err := grpc.NewClient("passthrough:///bufnet", dial...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { cc.Close() })
	return cc, nil
}

// callUnary and callStream return the user id the handler saw.
func callUnary(ctx context.Context, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, method, &emptypb.Empty{}, out, opts...)
	return out.GetValue(), err
}

func callStream(ctx context.Context, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (string, error) {
	s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, opts...)
	if err != nil {
		return "", err
	}
	// io.EOF: the server has ended the stream already; RecvMsg says why.
	if err := s.SendMsg(&emptypb.Empty{}); err != nil && err != io.EOF {
		return "", err
	}
	if err := s.CloseSend(); err != nil {
		return "", err
	}
	out := new(wrapperspb.StringValue)
	if err := s.RecvMsg(out); err != nil {
		return "", err
	}
	if err := s.RecvMsg(out); err != io.EOF {
		return "", err
	}
	return out.GetValue(), nil
}

// callBoth calls the echo service's whoami (unary) and watch (stream)
// methods with tok as the bearer token, none when it is empty, and returns
// the user id each handler saw and each call's error.
func callBoth(t *testing.T, cc *grpc.ClientConn, tok string) (unaryWho string, unaryErr error, streamWho string, streamErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	unaryWho, unaryErr = callUnary(ctx, cc, whoamiMethod)
	streamWho, streamErr = callStream(ctx, cc, watchMethod)
	return unaryWho, unaryErr, streamWho, streamErr
}

// serviceToken is a service token of iss for the client "caller", with
// audience aud and scopes.
func serviceToken(t *testing.T, iss *token.Issuer, aud string, scopes ...string) string {
	t.Helper()
	raw, _, err := iss.IssueService("caller", []string{aud}, scopes, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func issuer(t testing.TB, sec string, clock func() time.Time) *token.Issuer {
	t.Helper()
	return tokentest.HMACIssuer(t, sec, token.IssuerConfig{Clock: clock})
}

func mint(t testing.TB, iss *token.Issuer, sub string) (string, token.Claims) {
	t.Helper()
	raw, c, err := iss.IssueAccess(sub, "sess-"+sub, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return raw, c
}

func newValidator(t testing.TB, cfg session.Config) *session.SessionValidator {
	t.Helper()
	cfg.JWTSecret = secret
	cfg.Logger = slog.New(slog.DiscardHandler)
	v, err := session.NewSessionValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// readyValidator is a validator fed by a real Redis, with one revoked
// token; it returns the validator and that token.
func readyValidator(t *testing.T) (*session.SessionValidator, string) {
	t.Helper()
	rs := testenv.StartRedis(t)
	store := revoketest.RedisStore(t, rs.Client(t), redisstore.Config{})
	ctx := context.Background()
	v := newValidator(t, session.Config{RedisAddr: rs.Addr})
	testenv.WaitFor(t, "validator ready", func() bool { return v.Health().Ready })
	revoked, c := mint(t, issuer(t, secret, nil), "revoked-user")
	if _, err := store.Revoke(ctx, revoke.Entry{Kind: revoke.KindToken, ID: c.ID, Expires: time.Now().Add(time.Hour).Unix()}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "revocation applied", func() bool {
		_, err := v.ValidateAccessToken(revoked)
		return errors.Is(err, session.ErrRevoked)
	})
	return v, revoked
}

func TestInterceptors(t *testing.T) {
	v, revoked := readyValidator(t)
	cc := serve(t, v, grpcauth.Exempt(openMethod, openWatch))
	notReady := serve(t, newValidator(t, session.Config{RedisAddr: "127.0.0.1:1"})) // never loads
	allOpen := serve(t, v, grpcauth.Exempt("/test.Echo/"))

	valid, _ := mint(t, issuer(t, secret, nil), "user-1")
	expired, _ := mint(t, issuer(t, secret, func() time.Time { return time.Now().Add(-time.Hour) }), "user-1")
	forged, _ := mint(t, issuer(t, "another-secret-of-at-least-32-bytes!!", nil), "user-1")

	tests := []struct {
		name   string
		cc     *grpc.ClientConn
		method string   // unary; the stream twin of Open is OpenWatch, of the others Watch
		auth   []string // authorization values sent
		code   codes.Code
		msg    string
		user   string
	}{
		{"valid", cc, whoamiMethod, []string{"Bearer " + valid}, codes.OK, "", "user-1"},
		{"scheme is case-insensitive", cc, whoamiMethod, []string{"bearer " + valid}, codes.OK, "", "user-1"},
		{"no token", cc, whoamiMethod, nil, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"not a bearer token", cc, whoamiMethod, []string{"Basic dXNlcjpwYXNz"}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"empty bearer", cc, whoamiMethod, []string{"Bearer "}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"two tokens", cc, whoamiMethod, []string{"Bearer " + valid, "Bearer " + forged}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"malformed", cc, whoamiMethod, []string{"Bearer not.a.jwt"}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"expired", cc, whoamiMethod, []string{"Bearer " + expired}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"forged", cc, whoamiMethod, []string{"Bearer " + forged}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"revoked", cc, whoamiMethod, []string{"Bearer " + revoked}, codes.Unauthenticated, session.UnauthorizedBody, ""},
		{"validator not ready", notReady, whoamiMethod, []string{"Bearer " + valid}, codes.Unavailable, session.UnavailableBody, ""},
		{"exempt method without token", cc, openMethod, nil, codes.OK, "", ""},
		{"exempt method carries no claims", cc, openMethod, []string{"Bearer " + valid}, codes.OK, "", ""},
		{"exempt service", allOpen, whoamiMethod, nil, codes.OK, "", ""},
	}
	for _, tt := range tests {
		for _, kind := range []string{"unary", "stream"} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for _, a := range tt.auth {
					ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
				}
				var user string
				var err error
				if kind == "unary" {
					user, err = callUnary(ctx, tt.cc, tt.method)
				} else {
					streamMethod := watchMethod
					if tt.method == openMethod {
						streamMethod = openWatch
					}
					user, err = callStream(ctx, tt.cc, streamMethod)
				}
				st := status.Convert(err)
				if st.Code() != tt.code || (tt.msg != "" && st.Message() != tt.msg) {
					t.Fatalf("got %v %q; want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
				}
				if user != tt.user {
					t.Fatalf("handler saw user %q; want %q", user, tt.user)
				}
			})
		}
	}
}
