package session_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authmesh/authmesh/session"
)

// probe GETs h and decodes its JSON answer.
func probe(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("probe body %q: %v", rec.Body, err)
	}
	return rec.Code, body
}

// TestProbes: a validator waiting for its first snapshot is alive but not
// ready; a ready one whose revocation source went away (shared by every
// replica) stays ready and says degraded, even failing closed.
func TestProbes(t *testing.T) {
	waiting := newValidator(t, session.Config{JWTSecret: secret, RedisAddr: "127.0.0.1:1"})
	_, ready, _ := redisPair(t, session.Config{})
	clk := &clock{}
	_, stale, rs := redisPair(t, session.Config{FailClosed: true, MaxStaleness: 2 * time.Second, Clock: clk.Now})
	rs.Stop()
	clk.Add(time.Minute)

	for _, tt := range []struct {
		name   string
		v      *session.SessionValidator
		ready  int
		status string
	}{
		{"waiting for its first snapshot", waiting, http.StatusServiceUnavailable, "not ready"},
		{"ready", ready, http.StatusOK, "ok"},
		{"stale and failing closed", stale, http.StatusOK, "degraded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := probe(t, tt.v.LivenessHandler()); code != http.StatusOK || body["status"] != "ok" {
				t.Fatalf("liveness: got %d %v; want 200 ok", code, body)
			}
			code, body := probe(t, tt.v.ReadinessHandler())
			if code != tt.ready || body["status"] != tt.status || body["detail"] == "" {
				t.Fatalf("readiness: got %d %v; want %d %q with an explanation", code, body, tt.ready, tt.status)
			}
		})
	}
}
