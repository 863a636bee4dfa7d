package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// adminSend sends one admin request with a JSON body (none when "") and
// the token.
func adminSend(t *testing.T, h http.Handler, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	b, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, rec.Code, b)
	}
	return rec.Code, out
}

// clientToken asks the public token endpoint for a token of client id
// with secret and returns the status and the RFC 6749 error code.
func clientToken(t *testing.T, h http.Handler, id, secret string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var resp struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	return rec.Code, resp.Error
}

// TestAdminClients drives /admin/v1/clients over a real service: the
// secret is shown once (create, rotate) and works at the token endpoint,
// the list never shows it nor its hash, disable and enable switch the
// client, rotate voids the old secret, delete forgets it; bad input is a
// clear 4xx; every action is in the audit trail.
func TestAdminClients(t *testing.T) {
	const token = "admin-test-token-0123456789"
	srv := newServer(t, map[string]string{"ADMIN_TOKEN": token})
	pub, adm := srv.Handler(), srv.AdminHandler()

	if code, _ := adminSend(t, adm, http.MethodGet, "/admin/v1/clients", "", "wrong-token"); code != 401 {
		t.Fatalf("list without the admin token: %d; want 401", code)
	}
	code, body := adminSend(t, adm, http.MethodPost, "/admin/v1/clients", `{"id":"billing","audiences":["orders","payments"],"scopes":["orders:read"]}`, token)
	secret, _ := body["client_secret"].(string)
	if code != 201 || body["id"] != "billing" || secret == "" {
		t.Fatalf("create: %d %v; want 201 with the secret", code, body)
	}
	if code, e := clientToken(t, pub, "billing", secret); code != 400 || e != "invalid_target" {
		// Two audiences: the request must name one; the secret is right.
		t.Fatalf("token without an audience: %d %s; want 400 invalid_target", code, e)
	}
	code, body = adminSend(t, adm, http.MethodPost, "/admin/v1/clients", `{"id":"reports","audiences":["orders"]}`, token)
	reports, _ := body["client_secret"].(string)
	if code != 201 {
		t.Fatalf("create reports: %d %v", code, body)
	}
	if code, e := clientToken(t, pub, "reports", reports); code != 200 {
		t.Fatalf("token with the secret create showed: %d %s", code, e)
	}

	code, body = adminSend(t, adm, http.MethodGet, "/admin/v1/clients", "", token)
	list := fmt.Sprint(body)
	if code != 200 || len(body["clients"].([]any)) != 2 || !strings.Contains(list, "payments") {
		t.Fatalf("list: %d %v", code, body)
	}
	if strings.Contains(list, secret) || strings.Contains(list, reports) || strings.Contains(list, "hash") {
		t.Fatalf("list shows a secret or its hash: %s", list)
	}

	path := "/admin/v1/clients/reports"
	if code, body := adminSend(t, adm, http.MethodPost, path+"/disable", "", token); code != 200 || body["disabled"] != true {
		t.Fatalf("disable: %d %v", code, body)
	}
	if code, e := clientToken(t, pub, "reports", reports); code != 401 || e != "invalid_client" {
		t.Fatalf("token of a disabled client: %d %s; want 401 invalid_client", code, e)
	}
	if code, body := adminSend(t, adm, http.MethodPost, path+"/enable", "", token); code != 200 || body["enabled"] != true {
		t.Fatalf("enable: %d %v", code, body)
	}
	if code, _ := clientToken(t, pub, "reports", reports); code != 200 {
		t.Fatalf("token of a re-enabled client: %d", code)
	}
	code, body = adminSend(t, adm, http.MethodPost, path+"/rotate", "", token)
	rotated, _ := body["client_secret"].(string)
	if code != 200 || rotated == "" || rotated == reports {
		t.Fatalf("rotate: %d %v; want a new secret", code, body)
	}
	if code, _ := clientToken(t, pub, "reports", reports); code != 401 {
		t.Fatalf("token with the rotated-out secret: %d; want 401", code)
	}
	if code, _ := clientToken(t, pub, "reports", rotated); code != 200 {
		t.Fatalf("token with the new secret: %d; want 200", code)
	}
	if code, body := adminSend(t, adm, http.MethodDelete, path, "", token); code != 200 || body["deleted"] != true {
		t.Fatalf("delete: %d %v", code, body)
	}
	if code, _ := clientToken(t, pub, "reports", rotated); code != 401 {
		t.Fatalf("token of a deleted client: %d; want 401", code)
	}

	for _, tt := range []struct {
		method, path, body string
		want               int
		msg                string
	}{
		{http.MethodPost, "/admin/v1/clients", `{"id":"billing","audiences":["orders"]}`, 409, "exists already"},
		{http.MethodPost, "/admin/v1/clients", `{"id":"bad id","audiences":["orders"]}`, 400, "client id"},
		{http.MethodPost, "/admin/v1/clients", `{"id":"noaud"}`, 400, "audience"},
		{http.MethodPost, "/admin/v1/clients", `{"id":"x","audience":"orders"}`, 400, "JSON body"},
		{http.MethodPost, "/admin/v1/clients", `not json`, 400, "JSON body"},
		{http.MethodPost, "/admin/v1/clients/reports/disable", "", 404, "no service client"},
		{http.MethodPost, "/admin/v1/clients/nope/rotate", "", 404, "no service client"},
		{http.MethodDelete, "/admin/v1/clients/nope", "", 404, "no service client"},
	} {
		if code, body := adminSend(t, adm, tt.method, tt.path, tt.body, token); code != tt.want || !strings.Contains(fmt.Sprint(body["error"]), tt.msg) {
			t.Errorf("%s %s %s: %d %v; want %d with %q", tt.method, tt.path, tt.body, code, body, tt.want, tt.msg)
		}
	}

	_, body = adminSend(t, adm, http.MethodGet, "/admin/v1/audit", "", token)
	trail := fmt.Sprint(body)
	for _, action := range []string{"client.create client_id=billing", "client.disable client_id=reports", "client.enable", "client.rotate", "client.delete"} {
		if !strings.Contains(trail, action) {
			t.Errorf("the audit trail lacks %q: %s", action, trail)
		}
	}
	if strings.Contains(trail, secret) || strings.Contains(trail, rotated) {
		t.Fatal("the audit trail holds a client secret")
	}
}
