package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// TestNoLockoutOnKnownDevice: attackers on four networks spend the
// account's shared failure budget with 20 wrong passwords, which refuses a
// login from a device the account does not know; the owner, on a device
// that logged in before (its deviceToken given as input, or its HttpOnly
// device cookie), still logs in.
func TestNoLockoutOnKnownDevice(t *testing.T) {
	for _, m := range modes()[:2] {
		t.Run(m.name, func(t *testing.T) {
			auth, _ := m.deploy(t, trustLoopback)
			victim := registerAndLogin(t, auth.URL, "victim@example.com")
			const ownerIP = "198.51.100.20"
			loginQuery := func(password, device string) string {
				in := fmt.Sprintf(`email: %q, password: %q`, victim.Email, password)
				if device != "" {
					in += fmt.Sprintf(`, deviceToken: %q`, device)
				}
				return `mutation { login(input: {` + in + `}) { token deviceToken } }`
			}

			status, cookie, r := postRaw(t, auth.URL, loginQuery(victim.Password, ""), http.Header{"X-Forwarded-For": {ownerIP}})
			var first struct{ DeviceToken string }
			r.field(t, "login", &first)
			if status != http.StatusOK || cookie == nil || cookie.Value != first.DeviceToken || !cookie.HttpOnly || first.DeviceToken == "" {
				t.Fatalf("owner's login: status %d, cookie %v, deviceToken %q; want an HttpOnly device cookie holding the deviceToken", status, cookie, first.DeviceToken)
			}

			for n := 0; n < 4; n++ {
				for i := 0; i < 5; i++ {
					ip := fmt.Sprintf("203.0.%d.%d", n, i+1)
					if r := loginFrom(t, auth.URL, ip, victim.Email, "wrong-password"); r.code() != "INVALID_CREDENTIALS" {
						t.Fatalf("attacker %s: got %q; want INVALID_CREDENTIALS", ip, r.code())
					}
				}
			}
			if r := loginFrom(t, auth.URL, "192.0.2.77", victim.Email, victim.Password); r.code() != "RATE_LIMITED" {
				t.Fatalf("owner on an unknown device after 20 failures: got %q; want RATE_LIMITED (the account budget is spent)", r.code())
			}
			for _, tc := range []struct {
				name string
				hdr  http.Header
				q    string
			}{
				{"deviceToken input", http.Header{"X-Forwarded-For": {ownerIP}}, loginQuery(victim.Password, first.DeviceToken)},
				{"device cookie", http.Header{"X-Forwarded-For": {ownerIP}, "Cookie": {cookie.String()}}, loginQuery(victim.Password, "")},
				{"device cookie from another address", http.Header{"X-Forwarded-For": {"192.0.2.78"}, "Cookie": {cookie.String()}}, loginQuery(victim.Password, "")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if r := mustGraphQL(t, auth.URL, tc.q, "", tc.hdr); r.code() != "" {
						t.Fatalf("owner on a known device: got %q; want a login", r.code())
					}
				})
			}
		})
	}
}

// postRaw posts a GraphQL document and returns the status, the device
// cookie set (or nil) and the decoded answer.
func postRaw(t *testing.T, base, query string, hdr http.Header) (int, *http.Cookie, gqlResult) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	var r gqlResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "authmesh_device" {
			return resp.StatusCode, c, r
		}
	}
	return resp.StatusCode, nil, r
}
