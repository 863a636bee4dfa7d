package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/session"
)

// FuzzAuthorizationHeader feeds arbitrary Authorization headers through the
// header parser and the middleware: the answer is always 200 (only for the
// one valid token), 401 or 503, never a panic.
func FuzzAuthorizationHeader(f *testing.F) {
	v, err := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	valid, _ := access(f, issuer(f, secret, nil), "u", "s")
	for _, seed := range []string{
		"", "Bearer", "Bearer ", "bearer x", "Bearer " + valid, "BEARER " + valid + " ",
		"Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.",
		"Bearer " + strings.Repeat("A", 9000), "Bearer \x00\xff", "Bearer a..b", "Bearer ....",
	} {
		f.Add(seed)
	}
	h := session.HTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := session.GetUserID(r.Context()); !ok {
			panic("handler reached without claims")
		}
	}))
	f.Fuzz(func(t *testing.T, header string) {
		_ = session.BearerToken(&http.Request{Header: http.Header{"Authorization": {header}}})
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			// Only a bearer credential signed with our secret gets through;
			// the handler itself panics if it runs without claims.
			if len(header) < 7 || !strings.EqualFold(header[:7], "bearer ") {
				t.Fatalf("accepted a non-bearer header %q", header)
			}
		case http.StatusUnauthorized, http.StatusServiceUnavailable:
		default:
			t.Fatalf("header %q: status %d", header, rec.Code)
		}
	})
}
