package proc

import (
	"os"
	"strings"
)

// serviceVars are the prefixes of the variables authmesh's services read.
var serviceVars = []string{
	"PORT", "JWT_SECRET", "REDIS_", "DATABASE_URL", "DATA_DIR", "AUTH_URL", "AUTH_CA_FILE", "SIGNING_ALG",
	"KEY_ENCRYPTION_SECRET", "AUDIENCE", "ISSUER", "ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL",
	"REFRESH_REUSE_GRACE", "PUBLIC_URL", "TRUSTED_PROXIES", "AUTH_ENV", "MAX_SESSIONS_PER_USER",
	"ARGON2_", "RATE_LIMITS", "GRAPHQL_", "FAIL_CLOSED", "MAX_STALENESS", "TLS_", "COOKIE_",
	"ALLOWED_ORIGINS", "FEED_", "ADMIN_", "SMTP_URL", "MAIL_FROM", "OTEL_",
}

// ServiceEnv returns this process's environment without the variables that
// configure authmesh's services, followed by extra. A benchmark that starts
// the services sets the mode it measures itself, so the caller's shell
// cannot change it.
func ServiceEnv(extra ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, v := range serviceVars {
			if strings.HasPrefix(kv, v) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
