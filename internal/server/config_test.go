package server_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/ratelimit"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/internal/token"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := server.LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.Issuer != token.DefaultIssuer || c.AccessTokenTTL != token.DefaultAccessTokenTTL ||
		c.RefreshTokenTTL != token.DefaultRefreshTokenTTL || c.RefreshReuseGrace != auth.DefaultRefreshReuseGrace || c.AuthEnv != "development" ||
		c.RedisPrefix != redissync.DefaultPrefix || c.MaxTokenLifetime != token.DefaultRefreshTokenTTL ||
		c.DatabaseURL != "sqlite:./data/authmesh.db" || len(c.RedisAddr) != 0 || !c.GraphQLIntrospection || !c.RateLimits ||
		!c.GraphQLPlayground || c.MaxSessionsPerUser != server.DefaultMaxSessionsPerUser || c.MaxSessionsPerUser < 1 || c.MaxConnections < 16 {
		t.Fatalf("got %+v", c)
	}
	want := server.Limits{
		AccountClient: ratelimit.DefaultAccountClient, Account: ratelimit.DefaultAccount,
		Client: ratelimit.DefaultClient, Register: ratelimit.DefaultRegister,
		MailAddress: ratelimit.DefaultMailAddress, MailClient: ratelimit.DefaultMailClient,
	}
	if c.Limits != want {
		t.Errorf("limits: got %+v; want %+v", c.Limits, want)
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ACCESS_TOKEN_TTL": "15"}, "ACCESS_TOKEN_TTL"},
		{map[string]string{"REFRESH_TOKEN_TTL": "forever"}, "REFRESH_TOKEN_TTL"},
		{map[string]string{"REFRESH_REUSE_GRACE": "-1s"}, "REFRESH_REUSE_GRACE"},
		{map[string]string{"MAX_TOKEN_LIFETIME": "0"}, "MAX_TOKEN_LIFETIME"},
		{map[string]string{"MAX_TOKEN_LIFETIME": "1h"}, "MAX_TOKEN_LIFETIME"},
		{map[string]string{"MAX_TOKEN_LIFETIME": "400h", "REFRESH_TOKEN_TTL": "720h"}, "MAX_TOKEN_LIFETIME"},
		{map[string]string{"PORT": "http"}, "PORT"},
		{map[string]string{"REDIS_DB": "-2"}, "REDIS_DB"},
		{map[string]string{"AUTH_ENV": "staging"}, "AUTH_ENV"},
		{map[string]string{"AUTH_ENV": "production", "JWT_SECRET": "short"}, "JWT_SECRET"},
		{map[string]string{"AUTH_ENV": "production", "JWT_SECRET": strings.Repeat("k", 32), "GRAPHQL_INTROSPECTION": "on"}, "GRAPHQL_INTROSPECTION"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{map[string]string{"PUBLIC_URL": "example.com"}, "PUBLIC_URL"},
		{map[string]string{"SIGNING_ALG": "HS512"}, "SIGNING_ALG"},
		{map[string]string{"AUTH_ENV": "production", "JWT_SECRET": strings.Repeat("k", 32), "ARGON2_MEMORY_KIB": "1024"}, "ARGON2_MEMORY_KIB"},
		{map[string]string{"LOGIN_LIMIT_CLIENT": "lots"}, "LOGIN_LIMIT_CLIENT"},
		{map[string]string{"MAX_CONNECTIONS": "3"}, "MAX_CONNECTIONS"},
		{map[string]string{"FEED_TOKEN": "a", "FEED_TOKEN_FILE": "/etc/hostname"}, "FEED_TOKEN and FEED_TOKEN_FILE"},
		{map[string]string{"FEED_TOKEN_FILE": "/nonexistent/feed-token"}, "FEED_TOKEN_FILE"},
		{map[string]string{"FEED_TOKEN": "feed token with spaces and $ymbols"}, "FEED_TOKEN:"},
		{map[string]string{"SMTP_URL": "http://mail.example"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "smtp://u:p@mail.example"}, "MAIL_FROM is required"},
		{map[string]string{"MAIL_FROM": "two@a.b, three@c.d"}, "MAIL_FROM"},
		{map[string]string{"MAIL_RETRY_BACKOFF": "0s"}, "MAIL_RETRY_BACKOFF"},
		{map[string]string{"MAIL_RETRY_BACKOFF": "1h"}, "MAIL_RETRY_BACKOFF"},
		{map[string]string{"MAX_CONNECTIONS": "9999999"}, "MAX_CONNECTIONS"},
		{map[string]string{"FEED_MAX_STREAMS_PER_CLIENT": "0"}, "FEED_MAX_STREAMS_PER_CLIENT"},
		{map[string]string{"TLS_CERT_FILE": "/etc/hostname"}, "TLS_KEY_FILE"},
		{map[string]string{"ADMIN_TLS_CERT_FILE": "/etc/hostname"}, "ADMIN_TLS_KEY_FILE"},
		{map[string]string{"ADMIN_TLS_KEY_FILE": "/etc/hostname"}, "ADMIN_TLS_CERT_FILE"},
		{map[string]string{"ADMIN_ADDR": "0.0.0.0:9091"}, "ADMIN_TOKEN"},
		{map[string]string{"ADMIN_ADDR": ":9091"}, "ADMIN_TOKEN"},
		{map[string]string{"ADMIN_ADDR": "9091"}, "ADMIN_ADDR"},
		{map[string]string{"ADMIN_TOKEN": "has spaces in it"}, "ADMIN_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := server.LoadConfig(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v; want one line naming %s", err, tt.want)
			}
		})
	}
}

// TestMaxTokenLifetimeFollowsRefreshTTL: MAX_TOKEN_LIFETIME defaults to the
// longest token TTL, so lengthening REFRESH_TOKEN_TTL alone keeps working.
func TestMaxTokenLifetimeFollowsRefreshTTL(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want time.Duration
	}{
		{map[string]string{"REFRESH_TOKEN_TTL": "720h"}, 720 * time.Hour},
		{map[string]string{"REFRESH_TOKEN_TTL": "1h"}, time.Hour},
		{map[string]string{"REFRESH_TOKEN_TTL": "1h", "MAX_TOKEN_LIFETIME": "48h"}, 48 * time.Hour},
	}
	for _, tt := range tests {
		c, err := server.LoadConfig(env(tt.env))
		if err != nil || c.MaxTokenLifetime != tt.want {
			t.Errorf("LoadConfig(%v): MaxTokenLifetime = %v, %v; want %v", tt.env, c.MaxTokenLifetime, err, tt.want)
		}
	}
}

func TestLoadConfigShortSecretWarnsOutsideProduction(t *testing.T) {
	c, err := server.LoadConfig(env(map[string]string{"JWT_SECRET": "your-super-secret-jwt-key-here"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "JWT_SECRET") {
		t.Fatalf("got warnings %q; want one about JWT_SECRET", c.Warnings)
	}
	c, err = server.LoadConfig(env(map[string]string{"AUTH_ENV": "production", "JWT_SECRET": strings.Repeat("k", 32)}))
	if err != nil || c.GraphQLIntrospection || c.GraphQLPlayground {
		t.Fatalf("production: got %+v, %v; want introspection and the playground off", c, err)
	}
}

func TestLoadConfigRedisList(t *testing.T) {
	c, err := server.LoadConfig(env(map[string]string{"REDIS_ADDR": "a:1, b:2,,c:3", "REDIS_MASTER_NAME": "mymaster"}))
	if err != nil || len(c.RedisAddr) != 3 || c.RedisAddr[1] != "b:2" || c.RedisMasterName != "mymaster" {
		t.Fatalf("got %+v, %v", c.RedisAddr, err)
	}
}

// TestLoadConfigSecretsFromFiles: every secret the service reads can be
// given as a file NAME_FILE (a mounted secret), giving the same value as
// the variable (the file's trailing newline dropped); setting both forms,
// or naming a file that cannot be read, stops the service at start with
// one line naming the variable.
func TestLoadConfigSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secrets := []struct {
		name  string
		value string // as written to the file, before its trailing newline
		want  string // what the configuration holds
		field func(server.Config) string
	}{
		{"JWT_SECRET", "a-shared-secret-of-at-least-32-bytes!", "a-shared-secret-of-at-least-32-bytes!", func(c server.Config) string { return c.JWTSecret }},
		{"KEY_ENCRYPTION_SECRET", "seal the keys at rest", "seal the keys at rest", func(c server.Config) string { return c.KeyEncryptionSecret }},
		{"REDIS_PASSWORD", " pass word ", " pass word ", func(c server.Config) string { return c.RedisPassword }},
		{"DATABASE_URL", "postgres://u:p@db:5432/authmesh ", "postgres://u:p@db:5432/authmesh", func(c server.Config) string { return c.DatabaseURL }},
		{"FEED_TOKEN", "  a-feed-token", "a-feed-token", func(c server.Config) string { return c.FeedToken }},
	}
	for _, s := range secrets {
		t.Run(s.name, func(t *testing.T) {
			file := write(s.name, s.value+"\n")
			for _, tt := range []struct {
				name string
				env  map[string]string
				want string // "" with err set: an error
				err  string
			}{
				{name: "variable", env: map[string]string{s.name: s.value}, want: s.want},
				{name: "file", env: map[string]string{s.name + "_FILE": file}, want: s.want},
				{name: "both", env: map[string]string{s.name: s.value, s.name + "_FILE": file}, err: s.name + " and " + s.name + "_FILE are both set"},
				{name: "missing file", env: map[string]string{s.name + "_FILE": filepath.Join(dir, "missing")}, err: s.name + "_FILE: open " + filepath.Join(dir, "missing")},
				{name: "empty file", env: map[string]string{s.name + "_FILE": write("empty", "\n")}, err: s.name + "_FILE="},
			} {
				t.Run(tt.name, func(t *testing.T) {
					c, err := server.LoadConfig(env(tt.env))
					if tt.err != "" {
						if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
							t.Fatalf("got %v; want one line containing %q", err, tt.err)
						}
						return
					}
					if err != nil || s.field(c) != tt.want {
						t.Fatalf("got %q, %v; want %q", s.field(c), err, tt.want)
					}
				})
			}
		})
	}
}

// TestSMTPURLErrorHidesThePassword: a malformed SMTP_URL is refused
// without quoting it, since it may carry the mail password.
func TestSMTPURLErrorHidesThePassword(t *testing.T) {
	_, err := server.LoadConfig(env(map[string]string{"SMTP_URL": "smtp://ada:s3cret-pw@mail.example/path", "MAIL_FROM": "a@b.c"}))
	if err == nil || !strings.Contains(err.Error(), "SMTP_URL") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("got %v; want an error naming SMTP_URL without its password", err)
	}
}

// SchedulerHeadroom keeps the hashing slots at one per core and gives the
// scheduler one P more; calling it again changes nothing, and a GOMAXPROCS
// the operator set is left alone.
func TestSchedulerHeadroom(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.SetDefaultGOMAXPROCS()
	cores := runtime.GOMAXPROCS(0)
	for range 2 {
		var c server.Config
		server.SchedulerHeadroom(&c, false)
		if c.Argon2Concurrency != cores || runtime.GOMAXPROCS(0) != cores+1 {
			t.Errorf("hashing slots %d, GOMAXPROCS %d; want %d and %d", c.Argon2Concurrency, runtime.GOMAXPROCS(0), cores, cores+1)
		}
	}
	c := server.Config{Argon2Concurrency: 7}
	server.SchedulerHeadroom(&c, false)
	if c.Argon2Concurrency != 7 {
		t.Errorf("ARGON2_CONCURRENCY=7: hashing slots %d; want 7", c.Argon2Concurrency)
	}
	runtime.GOMAXPROCS(5)
	var set server.Config
	server.SchedulerHeadroom(&set, true)
	if set.Argon2Concurrency != 0 || runtime.GOMAXPROCS(0) != 5 {
		t.Errorf("GOMAXPROCS set by the operator: slots %d, GOMAXPROCS %d; want 0 (the default) and 5", set.Argon2Concurrency, runtime.GOMAXPROCS(0))
	}
}
