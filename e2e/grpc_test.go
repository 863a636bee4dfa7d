package e2e_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/examples/example-grpc-service/examplepb"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// grpcHealth as a start healthPath waits for the gRPC health service.
const grpcHealth = "grpc.health.v1.Health"

// grpcServing reports whether the gRPC health service at addr answers
// SERVING, which the example does once its validator accepts tokens.
func grpcServing(addr string) bool {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// grpcClient connects to the gRPC example; calls carry no token unless
// given one with withToken.
func grpcClient(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// withToken sends tok with a call; the example listens on loopback without
// TLS, so the client allows the insecure transport explicitly.
func withToken(tok string) grpc.CallOption {
	return grpc.PerRPCCredentials(&grpcauth.Credentials{Token: grpcauth.StaticToken(tok).Token, AllowInsecure: true})
}

// TestGRPCExample runs the gRPC example against the real auth service, in
// the Redis and in the embedded feed mode: Whoami answers a valid token's
// claims and refuses an expired, a forged, a revoked and a missing token
// with Unauthenticated "Invalid or expired token"; Watch streams events;
// health and reflection need no token.
func TestGRPCExample(t *testing.T) {
	const secret = quickSecret + "-grpc-0123456789"
	serverBin, _ := binaries(t)
	grpcBin := grpcExampleBinary(t)
	for _, m := range []struct {
		name    string
		authEnv func(t *testing.T) map[string]string
	}{
		{"Redis: HS256, SQLite, Redis", func(t *testing.T) map[string]string {
			return map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": testenv.StartRedis(t).Addr, "DATA_DIR": t.TempDir()}
		}},
		{"embedded: HS256, SQLite, feed", func(t *testing.T) map[string]string {
			return map[string]string{"JWT_SECRET": secret, "DATA_DIR": t.TempDir()}
		}},
	} {
		t.Run(m.name, func(t *testing.T) {
			authEnv := m.authEnv(t)
			auth := start(t, serverBin, merge(authEnv, cheapArgon), "/healthz")
			svc := start(t, grpcBin, serviceEnv(authEnv, auth.URL), grpcHealth)
			cc := grpcClient(t, svc.Addr())
			client := examplepb.NewExampleServiceClient(cc)
			a := registerAndLogin(t, auth.URL, "grpc-"+rand.Text()+"@example.com")
			victim := registerAndLogin(t, auth.URL, "grpc-victim-"+rand.Text()+"@example.com")

			now := time.Now().Unix()
			claims := func(exp int64) map[string]any {
				return map[string]any{
					"iss": "authentication-service", "sub": a.UserID, "sid": a.Session, "jti": rand.Text(),
					"type": "access", "iat": now - 7200, "nbf": now - 7200, "exp": exp,
				}
			}
			header := map[string]any{"alg": "HS256", "typ": "at+jwt"}
			expired := jws(header, claims(now-3600), []byte(secret))
			forged := jws(header, claims(now+600), []byte("not-our-secret-but-just-as-long-0123456789"))

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp, err := client.Whoami(ctx, &examplepb.WhoamiRequest{}, withToken(a.Token))
			if err != nil {
				t.Fatalf("Whoami with a valid token: %v", err)
			}
			if resp.GetUserId() != a.UserID || resp.GetSessionId() != a.Session || resp.GetTokenId() == "" {
				t.Fatalf("Whoami: got %+v; want user %s, session %s and a token id", resp, a.UserID, a.Session)
			}

			if _, err := client.Whoami(ctx, &examplepb.WhoamiRequest{}, withToken(victim.Token)); err != nil {
				t.Fatalf("Whoami before the logout: %v", err)
			}
			// Revoke the victim's token by logging out.
			var out bool
			gql(t, auth.URL, `mutation { logout }`, victim.Token).field(t, "logout", &out)
			testenv.WaitFor(t, "the logout to reach the gRPC service", func() bool {
				_, err := client.Whoami(ctx, &examplepb.WhoamiRequest{}, withToken(victim.Token))
				return status.Code(err) == codes.Unauthenticated
			})

			for _, tc := range []struct {
				name string
				opts []grpc.CallOption
			}{
				{"no token", nil},
				{"expired", []grpc.CallOption{withToken(expired)}},
				{"forged", []grpc.CallOption{withToken(forged)}},
				{"revoked", []grpc.CallOption{withToken(victim.Token)}},
			} {
				_, err := client.Whoami(ctx, &examplepb.WhoamiRequest{}, tc.opts...)
				if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "Invalid or expired token" {
					t.Errorf("Whoami, %s: got %v %q; want Unauthenticated %q", tc.name, st.Code(), st.Message(), "Invalid or expired token")
				}
			}

			stream, err := client.Watch(ctx, &examplepb.WatchRequest{}, withToken(a.Token))
			if err != nil {
				t.Fatal(err)
			}
			for want := int64(1); want <= 2; want++ {
				ev, err := stream.Recv()
				if err != nil || ev.GetSequence() != want || ev.GetUserId() != a.UserID {
					t.Fatalf("Watch event %d: got %+v, %v; want user %s", want, ev, err, a.UserID)
				}
			}
			// By hand rather than with client.Watch, whose send may see the
			// stream already ended (io.EOF) and lose the status Recv reports.
			refused, err := cc.NewStream(ctx, &examplepb.ExampleService_ServiceDesc.Streams[0],
				examplepb.ExampleService_Watch_FullMethodName, withToken(forged))
			if err == nil {
				if err = refused.SendMsg(&examplepb.WatchRequest{}); err == nil || err == io.EOF {
					err = refused.RecvMsg(new(examplepb.WatchEvent))
				}
			}
			if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "Invalid or expired token" {
				t.Fatalf("Watch with a forged token: got %v; want Unauthenticated", err)
			}

			// Health and reflection answer without a token.
			if !grpcServing(svc.Addr()) {
				t.Fatal("health: not SERVING without a token")
			}
			if err := reflectionLists(ctx, cc, "authmesh.example.v1.ExampleService"); err != nil {
				t.Fatalf("reflection without a token: %v", err)
			}
		})
	}
}

// reflectionLists asks server reflection for the services and checks that
// service is among them.
func reflectionLists(ctx context.Context, cc *grpc.ClientConn, service string) error {
	s, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		return err
	}
	defer s.CloseSend()
	err = s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	if err != nil && err != io.EOF { // io.EOF: ended by the server; Recv says why
		return err
	}
	resp, err := s.Recv()
	if err != nil {
		return err
	}
	for _, svc := range resp.GetListServicesResponse().GetService() {
		if svc.GetName() == service {
			return nil
		}
	}
	return errors.New("service not listed: " + service)
}

// TestGRPCHealthcheckSubcommand: "example-grpc-service healthcheck" exits
// 0 while the service answers SERVING, and 1 with one line once it is
// stopped.
func TestGRPCHealthcheckSubcommand(t *testing.T) {
	serverBin, _ := binaries(t)
	auth := start(t, serverBin, map[string]string{"DATA_DIR": t.TempDir()}, "/healthz")
	svc := start(t, grpcExampleBinary(t), map[string]string{"AUTH_URL": auth.URL}, grpcHealth)
	if code, out := healthcheck(t, svc); code != 0 {
		t.Fatalf("while serving: got exit %d, %q; want 0", code, out)
	}
	svc.Stop()
	code, out := healthcheck(t, svc)
	if line := strings.TrimSuffix(out, "\n"); code != 1 || !strings.Contains(line, "connection refused") || strings.Contains(line, "\n") {
		t.Fatalf("stopped: got exit %d, %q; want 1 and one line saying connection refused", code, out)
	}
}
