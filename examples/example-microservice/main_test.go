package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		authURL string
		port    string
		err     string
	}{
		{"nothing: the auth service's feed and keys", map[string]string{}, "http://localhost:8080", "8081", ""},
		{"secret alone: refused, naming the fix", map[string]string{"JWT_SECRET": "s"}, "", "", "set REDIS_ADDR"},
		{"secret and redis: no auth URL", map[string]string{"JWT_SECRET": "s", "REDIS_ADDR": "r:6379"}, "", "8081", ""},
		{"secret and auth URL", map[string]string{"JWT_SECRET": "s", "AUTH_URL": "http://auth:9000"}, "http://auth:9000", "8081", ""},
		{"redis: no auth URL", map[string]string{"REDIS_ADDR": "r:6379"}, "", "8081", ""},
		{"explicit auth URL", map[string]string{"AUTH_URL": "https://auth:9000", "PORT": "9090"}, "https://auth:9000", "9090", ""},
		{"plain http opted in", map[string]string{"AUTH_URL": "http://auth:9000", "ALLOW_INSECURE_AUTH_URL": "true"}, "http://auth:9000", "8081", ""},
		{"bad port", map[string]string{"PORT": "eighty"}, "", "", "PORT"},
		{"bad staleness", map[string]string{"MAX_STALENESS": "1"}, "", "", "MAX_STALENESS"},
		{"bad redis db", map[string]string{"REDIS_DB": "x"}, "", "", "REDIS_DB"},
		{"feed token twice", map[string]string{"FEED_TOKEN": "t", "FEED_TOKEN_FILE": "/etc/hostname"}, "", "", "FEED_TOKEN and FEED_TOKEN_FILE"},
		{"missing feed token file", map[string]string{"FEED_TOKEN_FILE": "/nonexistent/feed-token"}, "", "", "FEED_TOKEN_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, port, err := loadConfig(func(k string) string { return tt.env[k] })
			if want := tt.env["ALLOW_INSECURE_AUTH_URL"] == "true"; cfg.AllowInsecureAuthURL != want {
				t.Fatalf("AllowInsecureAuthURL = %v; want %v", cfg.AllowInsecureAuthURL, want)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v; want an error naming %s", err, tt.err)
				}
				return
			}
			if err != nil || cfg.AuthURL != tt.authURL || port != tt.port {
				t.Fatalf("got AuthURL %q port %q err %v; want %q %q", cfg.AuthURL, port, err, tt.authURL, tt.port)
			}
		})
	}
}

// TestLoadConfigSecretsFromFiles: each secret the example reads can be a
// file NAME_FILE giving the variable's value; both forms, or a file that
// cannot be read, is an error naming the variable.
func TestLoadConfigSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []struct {
		name  string
		field func(session.Config) string
	}{
		{"JWT_SECRET", func(c session.Config) string { return c.JWTSecret }},
		{"REDIS_PASSWORD", func(c session.Config) string { return c.RedisPassword }},
		{"FEED_TOKEN", func(c session.Config) string { return c.FeedToken }},
	} {
		t.Run(s.name, func(t *testing.T) {
			const value = "the-secret-value"
			file := filepath.Join(dir, s.name)
			if err := os.WriteFile(file, []byte(value+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			base := map[string]string{"REDIS_ADDR": "r:6379"}
			for _, tt := range []struct {
				name string
				env  map[string]string
				err  string
			}{
				{"variable", map[string]string{s.name: value}, ""},
				{"file", map[string]string{s.name + "_FILE": file}, ""},
				{"both", map[string]string{s.name: value, s.name + "_FILE": file}, s.name + " and " + s.name + "_FILE are both set"},
				{"missing file", map[string]string{s.name + "_FILE": filepath.Join(dir, "missing")}, s.name + "_FILE: open"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					cfg, _, err := loadConfig(func(k string) string {
						if v, ok := tt.env[k]; ok {
							return v
						}
						return base[k]
					})
					if tt.err != "" {
						if err == nil || !strings.Contains(err.Error(), tt.err) {
							t.Fatalf("got %v; want an error containing %q", err, tt.err)
						}
						return
					}
					if err != nil || s.field(cfg) != value {
						t.Fatalf("got %q, %v; want %q", s.field(cfg), err, value)
					}
				})
			}
		})
	}
}

// TestHealthFailClosed: /health answers 503 and names REDIS_PREFIX while no
// auth service has written the layout marker, says OK once in sync, and
// answers 503 with an explanation once the revocation state is stale and
// FAIL_CLOSED is set.
func TestHealthFailClosed(t *testing.T) {
	rs := testenv.StartRedis(t)
	env := map[string]string{
		"PORT": "0", "JWT_SECRET": "a-secret-of-at-least-thirty-two-bytes",
		"REDIS_ADDR": rs.Addr, "FAIL_CLOSED": "true", "MAX_STALENESS": "1s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	go func() { _ = run(ctx, nil, func(k string) string { return env[k] }, io.Discard, io.Discard, ready) }()
	addr := <-ready
	url := "http://127.0.0.1" + addr[strings.LastIndex(addr, ":"):] + "/health"

	waitHealth := func(code int, text string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := http.Get(url)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == code && strings.Contains(string(b), text) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("/health: got %d %q; want %d containing %q", resp.StatusCode, b, code, text)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitHealth(503, "REDIS_PREFIX")
	revoketest.RedisStore(t, rs.Client(t), redisstore.Config{})
	waitHealth(200, "OK")
	rs.Stop()
	waitHealth(503, "fail-closed")
}

// TestLoadConfigMatchesAuthService: ISSUER, AUDIENCE and REDIS_PREFIX are
// read under the auth service's names, so one environment serves both.
func TestLoadConfigMatchesAuthService(t *testing.T) {
	env := map[string]string{"REDIS_ADDR": "r:6379", "ISSUER": "https://auth.example", "AUDIENCE": "billing", "REDIS_PREFIX": "staging:"}
	cfg, _, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != env["ISSUER"] || cfg.Audience != env["AUDIENCE"] || cfg.RedisPrefix != env["REDIS_PREFIX"] {
		t.Errorf("got issuer %q audience %q prefix %q; want %q %q %q", cfg.Issuer, cfg.Audience, cfg.RedisPrefix, env["ISSUER"], env["AUDIENCE"], env["REDIS_PREFIX"])
	}
}
