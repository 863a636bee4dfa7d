package origin

import (
	"net/http"
	"strings"
)

// corsHeaders are the request headers a cross-origin script may send.
var corsHeaders = strings.Join([]string{"Authorization", "Content-Type", TransportHeader, "X-Request-ID"}, ", ")

// CORS wraps next with CORS for the allowed origins: a preflight from one
// is answered 204 allowing credentials, GET and POST, and the headers the
// API reads; a response to one carries Access-Control-Allow-Origin (that
// origin, never "*") with credentials and exposes WWW-Authenticate, which
// the authmesh script reads. A preflight from any other origin is answered
// 403 with a message naming ALLOWED_ORIGINS; other requests from it pass
// without CORS headers, so that the browser withholds the answer.
func (p *Policy) CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		if o == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := p.Allowed(o)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			if !allowed {
				http.Error(w, "CORS: origin "+o+" is not allowed; the auth service's ALLOWED_ORIGINS (a microservice's session.Config.AllowedOrigins) lists the origins that may call it", http.StatusForbidden)
				return
			}
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, X-Request-ID")
		}
		next.ServeHTTP(w, r)
	})
}
