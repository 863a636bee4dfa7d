package origin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authmesh/authmesh/internal/origin"
)

func TestNewRefusesWhatIsNotAnOrigin(t *testing.T) {
	for _, o := range []string{"*", "null", "app.example.com", "https://app.example.com/path", "ftp://x", "https://user@x.com", "https://x.com?q=1"} {
		if _, err := origin.New([]string{o}); err == nil {
			t.Errorf("New(%q): got nil error; want one", o)
		}
	}
	p, err := origin.New(origin.Split(" https://App.Example.com/ , http://localhost:3000"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allowed("https://app.example.com") || !p.Allowed("http://localhost:3000") || p.Len() != 2 {
		t.Errorf("allowed: %v", p)
	}
}

func TestCheck(t *testing.T) {
	p, err := origin.New([]string{"https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header map[string]string
		want   error
	}{
		{"no transport header (a form)", map[string]string{"Origin": "https://auth.example.com"}, origin.ErrNoIntent},
		{"own origin", map[string]string{origin.TransportHeader: "cookie", "Origin": "https://auth.example.com"}, nil},
		{"allowed origin", map[string]string{origin.TransportHeader: "cookie", "Origin": "https://app.example.com"}, nil},
		{"other origin", map[string]string{origin.TransportHeader: "cookie", "Origin": "https://evil.example"}, origin.ErrCrossOrigin},
		{"opaque origin", map[string]string{origin.TransportHeader: "cookie", "Origin": "null"}, origin.ErrCrossOrigin},
		{"same-origin fetch without Origin", map[string]string{origin.TransportHeader: "Cookie", "Sec-Fetch-Site": "same-origin"}, nil},
		{"cross-site without Origin", map[string]string{origin.TransportHeader: "cookie", "Sec-Fetch-Site": "cross-site"}, origin.ErrCrossOrigin},
		{"not a browser", map[string]string{origin.TransportHeader: "cookie"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "https://auth.example.com/auth/refresh", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if err := p.Check(r); !errors.Is(err, tt.want) {
				t.Errorf("Check: got %v; want %v", err, tt.want)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	p, err := origin.New([]string{"https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h := p.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	tests := []struct {
		name, method, origin string
		preflight            bool
		status               int
		allow                string
	}{
		{"preflight, allowed", http.MethodOptions, "https://app.example.com", true, http.StatusNoContent, "https://app.example.com"},
		{"preflight, not allowed", http.MethodOptions, "https://evil.example", true, http.StatusForbidden, ""},
		{"request, allowed", http.MethodPost, "https://app.example.com", false, http.StatusTeapot, "https://app.example.com"},
		{"request, not allowed", http.MethodPost, "https://evil.example", false, http.StatusTeapot, ""},
		{"no Origin", http.MethodGet, "", false, http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "https://auth.example.com/graphql", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				r.Header.Set("Access-Control-Request-Method", "POST")
				r.Header.Set("Access-Control-Request-Headers", "content-type, x-authmesh-transport")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status: got %d; want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.allow {
				t.Errorf("Access-Control-Allow-Origin: got %q; want %q", got, tt.allow)
			}
			if tt.allow != "" && w.Header().Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("no Access-Control-Allow-Credentials: true")
			}
		})
	}
}
