package session_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/session"
)

// mint stands in for the auth service's login.
func mint(secret, userID string) string {
	keys, _ := token.NewHMACKeys([]byte(secret))
	iss, _ := token.NewIssuer(keys, token.IssuerConfig{})
	raw, _, _ := iss.IssueAccess(userID, "session-1", time.Now())
	return raw
}

// A validator with the quick start's shared secret. A real service also
// sets RedisAddr (or AuthURL) to see logouts; this example has no
// revocation source and says so with IgnoreRevocations.
func ExampleNewSessionValidator() {
	v, err := session.NewSessionValidator(session.Config{
		JWTSecret:         "your-super-secret-jwt-key-here",
		IgnoreRevocations: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	claims, err := v.ValidateAccessToken(mint("your-super-secret-jwt-key-here", "user-42"))
	fmt.Println(claims.UserID, err)

	_, err = v.ValidateAccessToken("not-a-token")
	fmt.Println(err != nil)
	// Output:
	// user-42 <nil>
	// true
}

// Without a secret or an AuthURL there is nothing to verify tokens with.
func ExampleNewSessionValidator_missingSecret() {
	_, err := session.NewSessionValidator(session.Config{})
	fmt.Println(err)
	// Output:
	// session: JWT secret is required (set Config.JWTSecret, or Config.AuthURL to use the auth service's public keys)
}

// A secret without Redis or AuthURL would accept revoked tokens until they
// expire: the validator refuses it and names the fix.
func ExampleNewSessionValidator_noRevocationSource() {
	_, err := session.NewSessionValidator(session.Config{JWTSecret: "your-super-secret-jwt-key-here"})
	fmt.Println(errors.Is(err, session.ErrNoRevocationSource))
	fmt.Println(err)
	// Output:
	// true
	// session: no revocation source: revoked tokens would stay valid until they expire (set Config.RedisAddr or Config.AuthURL to receive revocations, or Config.IgnoreRevocations to accept that)
}

// Protecting routes: rejected requests get 401 "Invalid or expired token".
func ExampleHTTPMiddleware() {
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: "your-super-secret-jwt-key-here", IgnoreRevocations: true})
	defer v.Close()

	api := session.HTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userID, _ := session.GetUserID(r.Context())
		fmt.Fprintf(w, "hello %s", userID)
	}))

	for _, auth := range []string{"", "Bearer " + mint("your-super-secret-jwt-key-here", "user-42")} {
		req := httptest.NewRequest(http.MethodGet, "/api/protected", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Printf("%d %q\n", rec.Code, rec.Body.String())
	}
	// Output:
	// 401 "Invalid or expired token\n"
	// 200 "hello user-42"
}

// One protected route among public ones.
func ExampleRequireAuth() {
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: "your-super-secret-jwt-key-here", IgnoreRevocations: true})
	defer v.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/protected", session.RequireAuth(v, func(w http.ResponseWriter, r *http.Request) {
		tokenID, _ := session.GetTokenID(r.Context())
		fmt.Fprintln(w, "token", len(tokenID) > 0)
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/protected", nil)
	req.Header.Set("Authorization", "Bearer "+mint("your-super-secret-jwt-key-here", "u"))
	mux.ServeHTTP(rec, req)
	fmt.Print(rec.Body.String())
	// Output:
	// token true
}

// go-redis' own messages through slog. A service installs the adapter once,
// in its main wiring (go-redis has one logger per process):
//
//	redis.SetLogger(session.RedisLogger(log))
//
// Here the adapter is called directly, as go-redis would.
func ExampleRedisLogger() {
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}))
	session.RedisLogger(log).Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts", 5)
	// Output: level=WARN msg="go-redis: connection pool: failed to dial after 5 attempts" component=go-redis
}
