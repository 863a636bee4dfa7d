package session

import "net/http"

// StreamingHTTPMiddleware is HTTPMiddleware for long-lived responses
// (server-sent events, websockets, long polls): besides rejecting requests
// without a valid access token, it cancels a request's context as soon as
// its token, device session, user or signing key is revoked (see
// ValidateUntilRevoked), so a stream that selects on r.Context().Done()
// ends within the same milliseconds a new request would be refused.
// context.Cause(r.Context()) then wraps ErrRevoked: the handler may send a
// last event saying so before it returns.
//
// Use it on the routes that stream; ordinary short requests are better
// served by HTTPMiddleware, which registers nothing.
func StreamingHTTPMiddleware(v *SessionValidator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := v.bearer(authorization(r))
			if raw == "" {
				reject(w, ErrMissingToken)
				return
			}
			wc, err := v.watchRequest(r.Context(), raw)
			if err != nil {
				reject(w, err)
				return
			}
			defer wc.w.release()
			next.ServeHTTP(w, r.WithContext(wc))
		})
	}
}
