package main

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/examples/example-grpc-service/examplepb"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// The gRPC example reads the HTTP example's environment; only PORT's
// default differs, as docs/CONFIGURATION.md says.
func TestLoadConfig(t *testing.T) {
	rows := testenv.DocTable(t, "docs/CONFIGURATION.md", "gRPC example (`examples/example-grpc-service`)")
	if len(rows) != 1 || rows[0].Name != "PORT" {
		t.Fatalf("got rows %+v; want the PORT row alone", rows)
	}
	def, _ := rows[0].Literal()
	tests := []struct {
		name string
		env  map[string]string
		port string
		err  string
	}{
		{"nothing", map[string]string{}, def, ""},
		{"explicit port", map[string]string{"PORT": "7000"}, "7000", ""},
		{"bad port", map[string]string{"PORT": "x"}, "", "PORT"},
		{"secret alone", map[string]string{"JWT_SECRET": "s"}, "", "set REDIS_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, port, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v; want an error naming %s", err, tt.err)
				}
				return
			}
			if err != nil || port != tt.port {
				t.Fatalf("got port %q, %v; want %q", port, err, tt.port)
			}
		})
	}
	env := map[string]string{"REDIS_ADDR": "r:6379", "ISSUER": "i", "FAIL_CLOSED": "true", "MAX_STALENESS": "5s"}
	got, _, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got.RedisAddr != "r:6379" || got.Issuer != "i" || !got.FailClosed || got.MaxStaleness != 5*time.Second {
		t.Errorf("got %+v; want the variables read as the HTTP example reads them", got)
	}
}

// TestRun: health says NOT_SERVING until the validator has the revocation
// state (no layout marker yet), then SERVING, while liveness says SERVING
// throughout; Whoami answers a token's
// claims and refuses a call without one.
func TestRun(t *testing.T) {
	const secret = "a-secret-of-at-least-thirty-two-bytes"
	rs := testenv.StartRedis(t)
	env := map[string]string{"PORT": "0", "JWT_SECRET": secret, "REDIS_ADDR": rs.Addr}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, io.Discard, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	addr := <-ready
	cc, err := grpc.NewClient("127.0.0.1"+addr[strings.LastIndex(addr, ":"):], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	waitHealth := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
			if err == nil && resp.GetStatus() == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health: got %v, %v; want %v", resp.GetStatus(), err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitHealth(healthpb.HealthCheckResponse_NOT_SERVING)
	port, _ := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if err := checkHealth(context.Background(), port); err == nil || !strings.Contains(err.Error(), "NOT_SERVING") {
		t.Fatalf("healthcheck while not ready: got %v; want NOT_SERVING", err)
	}
	// Alive while not ready: a liveness probe must not restart it.
	if resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{Service: LivenessService}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("liveness while not ready: got %v, %v; want SERVING", resp.GetStatus(), err)
	}
	revoketest.RedisStore(t, rs.Client(t), redisstore.Config{})
	waitHealth(healthpb.HealthCheckResponse_SERVING)
	if err := checkHealth(context.Background(), port); err != nil {
		t.Fatalf("healthcheck when serving: %v", err)
	}

	raw, c, err := tokentest.HMACIssuer(t, secret, token.IssuerConfig{}).IssueAccess("user-7", "sess-7", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	client := examplepb.NewExampleServiceClient(cc)
	creds := grpc.PerRPCCredentials(&grpcauth.Credentials{Token: grpcauth.StaticToken(raw).Token, AllowInsecure: true})
	resp, err := client.Whoami(context.Background(), &examplepb.WhoamiRequest{}, creds)
	if err != nil || resp.GetUserId() != "user-7" || resp.GetTokenId() != c.ID || resp.GetSessionId() != "sess-7" {
		t.Fatalf("Whoami: got %+v, %v; want user-7, %s, sess-7", resp, err, c.ID)
	}
	if _, err := client.Whoami(context.Background(), &examplepb.WhoamiRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Whoami without a token: got %v; want Unauthenticated", err)
	}
}
