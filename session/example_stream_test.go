package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/authmesh/authmesh/session"
)

// A server-sent-event stream that ends the moment its token, session or
// user is revoked (a logout): StreamingHTTPMiddleware cancels the
// request's context, and the handler says why before it returns.
func ExampleStreamingHTTPMiddleware() {
	v, err := session.NewSessionValidator(session.Config{
		JWTSecret: os.Getenv("JWT_SECRET"),
		RedisAddr: os.Getenv("REDIS_ADDR"), // where revocations come from
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	events := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				if errors.Is(context.Cause(r.Context()), session.ErrRevoked) {
					fmt.Fprintf(w, "event: error\ndata: %s\n\n", session.UnauthorizedBody)
				}
				return
			case <-tick.C:
				fmt.Fprint(w, "event: tick\ndata: {}\n\n")
				_ = http.NewResponseController(w).Flush()
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/stream", session.StreamingHTTPMiddleware(v)(http.HandlerFunc(events)))
	mux.Handle("GET /api/", session.HTTPMiddleware(v)(http.NotFoundHandler())) // short requests
	_ = http.ListenAndServe(":8081", mux)
}
