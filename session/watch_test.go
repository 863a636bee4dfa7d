package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
)

// TestValidateUntilRevoked: a watched request's context is cancelled, with
// a cause wrapping ErrRevoked, by a revocation of its token, its session or
// its user, arriving through Redis while it runs; requests the revocation
// does not cover keep running.
func TestValidateUntilRevoked(t *testing.T) {
	store, v, _ := redisPair(t, session.Config{})
	iss := issuer(t, secret, nil)
	exp := time.Now().Add(time.Hour).Unix()
	ctx := context.Background()

	type watched struct {
		ctx     context.Context
		release context.CancelFunc
	}
	watch := func(t *testing.T, raw string) watched {
		t.Helper()
		wctx, release, err := v.ValidateUntilRevoked(ctx, raw)
		if err != nil {
			t.Fatalf("ValidateUntilRevoked: %v", err)
		}
		t.Cleanup(release)
		return watched{wctx, release}
	}
	tests := []struct {
		name  string
		entry func(jti, sid, sub string) revoke.Entry
	}{
		{"token", func(jti, _, _ string) revoke.Entry {
			return revoke.Entry{Kind: revoke.KindToken, ID: jti, Expires: exp}
		}},
		{"session", func(_, sid, _ string) revoke.Entry {
			return revoke.Entry{Kind: revoke.KindSession, ID: sid, Expires: exp}
		}},
		{"user", func(_, _, sub string) revoke.Entry {
			return revoke.Entry{Kind: revoke.KindUser, ID: sub, Before: time.Now().Unix() + 1, Expires: exp}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, sid := "user-"+tt.name, "sess-"+tt.name
			raw, c := access(t, iss, sub, sid)
			target := watch(t, raw)
			twin := watch(t, raw) // the same token on a second stream
			bystander, _ := access(t, iss, "bystander-"+tt.name, "other-"+tt.name)
			other := watch(t, bystander)
			if claims, ok := session.GetClaims(target.ctx); !ok || claims.UserID != sub {
				t.Fatalf("claims in the watched context: got %+v, %v", claims, ok)
			}
			if _, err := store.Revoke(ctx, tt.entry(c.ID, sid, sub)); err != nil {
				t.Fatal(err)
			}
			for _, w := range []watched{target, twin} {
				select {
				case <-w.ctx.Done():
				case <-time.After(20 * time.Second):
					t.Fatal("the revocation never cancelled the request")
				}
				if cause := context.Cause(w.ctx); !errors.Is(cause, session.ErrRevoked) {
					t.Fatalf("cause: got %v; want ErrRevoked", cause)
				}
			}
			if err := other.ctx.Err(); err != nil {
				t.Fatalf("a request the revocation does not cover was cancelled: %v", context.Cause(other.ctx))
			}
			// A new request with the token is refused too.
			if _, _, err := v.ValidateUntilRevoked(ctx, raw); !errors.Is(err, session.ErrRevoked) {
				t.Fatalf("new request after revocation: got %v; want ErrRevoked", err)
			}
		})
	}
}

// TestUserCutOffSparesLaterTokens: a user-wide cut-off cancels the requests
// of tokens issued before it, not of tokens issued at or after it.
func TestUserCutOffSparesLaterTokens(t *testing.T) {
	store, v, _ := redisPair(t, session.Config{})
	iss := issuer(t, secret, nil)
	raw, c := access(t, iss, "u-cut", "s-cut")
	wctx, release, err := v.ValidateUntilRevoked(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// A cut-off at the token's own iat: the token is not before it.
	if _, err := store.Revoke(context.Background(), revoke.Entry{
		Kind: revoke.KindUser, ID: "u-cut", Before: c.IssuedAt, Expires: time.Now().Add(time.Hour).Unix(),
	}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the cut-off applied", func() bool { return v.Health().Revocations >= 1 })
	if err := wctx.Err(); err != nil {
		t.Fatalf("a token issued at the cut-off was cancelled: %v", context.Cause(wctx))
	}
}

// TestWatchedRequestEnds: release on a request that ended normally
// cancels its context (freeing it from its parent), and a bad token is
// refused like ValidateAccessToken refuses it.
func TestWatchedRequestEnds(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	raw, _ := access(t, issuer(t, secret, nil), "u", "s")
	wctx, release, err := v.ValidateUntilRevoked(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // idempotent
	if !errors.Is(context.Cause(wctx), context.Canceled) {
		t.Fatalf("after release: cause %v; want context.Canceled", context.Cause(wctx))
	}
	if _, _, err := v.ValidateUntilRevoked(context.Background(), "not-a-token"); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("bad token: got %v; want ErrMalformed", err)
	}
}

// TestStreamingHTTPMiddleware: a server-sent-event style handler behind
// StreamingHTTPMiddleware sees its request's context end, with cause
// ErrRevoked, when the session is revoked; without a token it gets 401.
func TestStreamingHTTPMiddleware(t *testing.T) {
	store, v, _ := redisPair(t, session.Config{})
	raw, _ := access(t, issuer(t, secret, nil), "u-sse", "s-sse")
	ended := make(chan error, 1)
	started := make(chan struct{})
	h := session.StreamingHTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		ended <- context.Cause(r.Context())
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	if resp, err := http.Get(srv.URL); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: got %d; want 401", resp.StatusCode)
	}
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	if _, err := store.Revoke(context.Background(), revoke.Entry{
		Kind: revoke.KindSession, ID: "s-sse", Expires: time.Now().Add(time.Hour).Unix(),
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-ended:
		if !errors.Is(cause, session.ErrRevoked) {
			t.Fatalf("cause: got %v; want ErrRevoked", cause)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the revocation never ended the stream")
	}
}

// TestStreamingMiddlewareAllocs: behind StreamingHTTPMiddleware a request
// with a cached token costs what it costs behind HTTPMiddleware (two
// allocations: the claims with the watched context carrying them, and the
// request copy) as long as its handler does not ask for Done; a handler
// that does pays for the cancellable context then (context.WithCancelCause
// and its channel: three more).
func TestStreamingMiddlewareAllocs(t *testing.T) {
	tests := []struct {
		name   string
		done   bool
		allocs float64
	}{
		{"handler not asking for Done", false, 2},
		{"handler asking for Done", true, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
			raw, _ := access(t, issuer(t, secret, nil), "user-1", "sess-1")
			h := session.StreamingHTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, ok := session.GetUserID(r.Context()); !ok || id != "user-1" {
					t.Errorf("handler got user %q, %v", id, ok)
				}
				if tt.done {
					select {
					case <-r.Context().Done():
						t.Error("Done closed during the request")
					default:
					}
				}
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+raw)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r) // fills the cache
			if allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) }); allocs > tt.allocs {
				t.Errorf("got %v allocations per request; want at most %v", allocs, tt.allocs)
			}
		})
	}
}
