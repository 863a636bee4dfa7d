package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminRevokesManyUsers: POST /admin/v1/revocations/users ends every
// session and token of the accounts named, at the microservice within the
// revocation latency, in Redis and feed modes; other accounts keep
// theirs, and an unknown account revokes nothing.
func TestAdminRevokesManyUsers(t *testing.T) {
	for _, m := range modes()[:2] {
		t.Run(m.name, func(t *testing.T) {
			addr := adminAddr(t)
			auth, svc := m.deploy(t, map[string]string{"ADMIN_ADDR": addr})
			a := registerAndLogin(t, auth.URL, "bulk-a@example.com")
			a2 := login(t, auth.URL, a)
			b := registerAndLogin(t, auth.URL, "bulk-b@example.com")
			keep := registerAndLogin(t, auth.URL, "bulk-keep@example.com")
			for _, x := range []account{a, a2, b, keep} {
				waitStatus(t, svc.URL+"/api/protected", x.Token, http.StatusOK, 10*time.Second)
			}
			post := func(body string) (int, map[string]any) {
				t.Helper()
				resp, err := http.Post("http://"+addr+"/admin/v1/revocations/users", "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var out map[string]any
				if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&out); err != nil {
					t.Fatalf("answer %d %q: %v", resp.StatusCode, raw, err)
				}
				return resp.StatusCode, out
			}
			for _, tc := range []struct {
				body string
				want int
			}{
				{`{"users": []}`, http.StatusBadRequest},
				{`{"user": ["bulk-a@example.com"]}`, http.StatusBadRequest},
				{`{"users": ["bulk-a@example.com", "nobody@example.com"]}`, http.StatusNotFound},
			} {
				if code, out := post(tc.body); code != tc.want || out["error"] == "" {
					t.Errorf("%s: %d %v; want %d with an error message", tc.body, code, out, tc.want)
				}
			}
			if code, _ := get(t, svc.URL+"/api/protected", a.Token); code != http.StatusOK {
				t.Fatalf("a refused request revoked a token: %d", code)
			}

			code, out := post(`{"users": ["bulk-a@example.com", "` + b.Email + `"]}`)
			if code != http.StatusOK || out["users"] != 2.0 || out["sessions_ended"] != 3.0 {
				t.Fatalf("revoke users: %d %v; want 200, 2 users, 3 sessions ended", code, out)
			}
			for _, x := range []account{a, a2, b} {
				waitStatus(t, svc.URL+"/api/protected", x.Token, http.StatusUnauthorized, 10*time.Second)
			}
			if code, _ := get(t, svc.URL+"/api/protected", keep.Token); code != http.StatusOK {
				t.Errorf("an account not named: %d; want 200", code)
			}
			// Not disabled: the owner logs in again.
			again := login(t, auth.URL, a)
			waitStatus(t, svc.URL+"/api/protected", again.Token, http.StatusOK, 10*time.Second)
		})
	}
}
