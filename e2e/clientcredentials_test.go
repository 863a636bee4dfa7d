package e2e_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/examples/example-grpc-service/examplepb"

	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
)

// TestClientCredentials: an operator registers a service client with the
// auth service binary's "clients" command (the offline path); a stock
// OAuth 2.0 client (x/oauth2/clientcredentials, secret in the Basic header
// and in the form) gets a token at POST /oauth2/token that a service
// requiring its audience and scope accepts; a token for another audience
// and a scope the client is not allowed are refused; `authmesh clients
// disable` (the admin API, inside the auth service) ends its token at the
// service, at the example microservice and at the gRPC example (other
// processes) at the revocation latency, and refuses it new ones. Redis
// and embedded feed modes: in feed mode the disable goes through the
// service's in-process revocation path, not the journal's poll.
func TestClientCredentials(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	grpcBin := grpcExampleBinary(t)
	for _, m := range modes()[:2] {
		t.Run(m.name, func(t *testing.T) {
			authEnv := m.auth(t)
			admin := adminAddr(t)
			auth := start(t, serverBin, merge(authEnv, cheapArgon, map[string]string{"ADMIN_ADDR": admin}), "/healthz")
			out, err := command(t, auth, "clients", "create", "billing", "-audience", "orders", "-audience", "payments", "-scope", "orders:read", "-scope", "payments:charge")
			if err != nil {
				t.Fatalf("clients create: %v\n%s", err, out)
			}
			match := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
			if match == nil {
				t.Fatalf("clients create printed no secret:\n%s", out)
			}
			secret := match[1]

			orders := ordersService(t, authEnv, auth.URL)
			example := start(t, exampleBin, serviceEnv(authEnv, auth.URL), "/health").URL + "/api/protected"
			// A second validator, another process: the gRPC example.
			whoami := examplepb.NewExampleServiceClient(grpcClient(t, start(t, grpcBin, serviceEnv(authEnv, auth.URL), grpcHealth).Addr()))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			config := func(aud string, style oauth2.AuthStyle, scopes ...string) *clientcredentials.Config {
				return &clientcredentials.Config{
					ClientID: "billing", ClientSecret: secret, TokenURL: auth.URL + "/oauth2/token",
					Scopes: scopes, EndpointParams: url.Values{"audience": {aud}}, AuthStyle: style,
				}
			}
			for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
				code, body := callWith(ctx, t, config("orders", style, "orders:read").Client(ctx), orders)
				if code != http.StatusOK || body != "orders for billing" {
					t.Fatalf("auth style %d: got %d %q; want 200 from the orders service", style, code, body)
				}
			}
			if code, _ := callWith(ctx, t, config("payments", oauth2.AuthStyleInHeader, "payments:charge").Client(ctx), orders); code != http.StatusUnauthorized {
				t.Fatalf("a token for another audience: got %d; want 401", code)
			}
			if code, _ := callWith(ctx, t, config("orders", oauth2.AuthStyleInHeader, "payments:charge").Client(ctx), orders); code != http.StatusForbidden {
				t.Fatalf("a token without the scope: got %d; want 403", code)
			}
			for _, tc := range []struct {
				name string
				cfg  *clientcredentials.Config
				code string
			}{
				{"a scope it may not have", config("orders", oauth2.AuthStyleInHeader, "admin"), "invalid_scope"},
				{"an audience it may not have", config("billing-db", oauth2.AuthStyleInHeader), "invalid_target"},
				{"a wrong secret", &clientcredentials.Config{ClientID: "billing", ClientSecret: "wrong", TokenURL: auth.URL + "/oauth2/token"}, "invalid_client"},
			} {
				if _, err := tc.cfg.Token(ctx); errorCode(err) != tc.code {
					t.Errorf("%s: got %v; want %s", tc.name, err, tc.code)
				}
			}

			tok, err := config("orders", oauth2.AuthStyleInHeader, "orders:read").Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := whoami.Whoami(ctx, &examplepb.WhoamiRequest{}, withToken(tok.AccessToken)); err != nil || resp.GetUserId() != "billing" || resp.GetSessionId() != "" {
				t.Fatalf("the service token at the gRPC example: %+v, %v; want user billing without a session", resp, err)
			}
			waitStatus(t, example, tok.AccessToken, http.StatusOK, 10*time.Second)
			began := time.Now()
			if code, out := authmesh(t, admin, "clients", "disable", "billing"); code != 0 || !strings.Contains(out, "disabled") {
				t.Fatalf("authmesh clients disable: exit %d, %q", code, out)
			}
			testenv.WaitFor(t, "the example microservice to refuse the disabled client's token", func() bool {
				code, _ := get(t, example, tok.AccessToken)
				return code == http.StatusUnauthorized
			})
			t.Logf("%s: the example microservice refused the disabled client's token %v after authmesh clients disable was started",
				m.name, time.Since(began).Round(time.Millisecond))
			testenv.WaitFor(t, "the disabled client's token to be refused", func() bool {
				code, _ := get(t, orders, tok.AccessToken)
				return code == http.StatusUnauthorized
			})
			testenv.WaitFor(t, "the gRPC example to refuse the disabled client's token", func() bool {
				_, err := whoami.Whoami(ctx, &examplepb.WhoamiRequest{}, withToken(tok.AccessToken))
				return status.Code(err) == codes.Unauthenticated
			})
			t.Logf("%s: the disabled client's token was refused by all three services %v after authmesh clients disable was started",
				m.name, time.Since(began).Round(time.Millisecond))
			// The offline path reads the same state.
			if out, err := command(t, auth, "clients", "list"); err != nil || !strings.Contains(out, "disabled") {
				t.Fatalf("server clients list after the disable: %v\n%s", err, out)
			}
			if _, err := config("orders", oauth2.AuthStyleInHeader).Token(ctx); errorCode(err) != "invalid_client" {
				t.Fatalf("a token for a disabled client: got %v; want invalid_client", err)
			}
		})
	}
}

// ordersService starts, in process, a service validating tokens like the
// example microservice (its configuration taken from the auth service's)
// whose one route requires audience "orders" and scope "orders:read".
func ordersService(t *testing.T, authEnv map[string]string, authURL string) string {
	t.Helper()
	env := serviceEnv(authEnv, authURL)
	v, err := session.NewSessionValidator(session.Config{
		JWTSecret: env["JWT_SECRET"], RedisAddr: env["REDIS_ADDR"], AuthURL: env["AUTH_URL"],
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	testenv.WaitFor(t, "the orders service's validator ready", func() bool { return v.Health().Ready })
	h := session.HTTPMiddleware(v)(session.RequireAudience("orders")(session.RequireScope("orders:read")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := session.GetClaims(r.Context())
			if !c.IsService() {
				http.Error(w, "services only", http.StatusForbidden)
				return
			}
			io.WriteString(w, "orders for "+c.ClientID)
		}))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func callWith(ctx context.Context, t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// errorCode is the RFC 6749 error code of a token request's failure.
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
