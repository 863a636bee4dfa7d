package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authmesh/authmesh/session"
)

// stream serves server-sent events: an event "tick" every tick carrying the
// caller's user id and a sequence number, until the client leaves or stop
// is closed. Behind session.StreamingHTTPMiddleware the request's context
// ends as soon as the token, its session or its user is revoked; the
// stream then sends a last event "error" with the data "Invalid or expired
// token" and ends.
func stream(tick time.Duration, stop <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		userID, ok := session.GetUserID(r.Context())
		if !ok {
			http.Error(w, session.UnauthorizedBody, http.StatusUnauthorized)
			return
		}
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		t := time.NewTicker(tick)
		defer t.Stop()
		for seq := 1; ; seq++ {
			data, _ := json.Marshal(tickEvent{UserID: userID, Sequence: seq})
			fmt.Fprintf(w, "event: tick\ndata: %s\n\n", data)
			if err := rc.Flush(); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				if errors.Is(context.Cause(r.Context()), session.ErrRevoked) {
					fmt.Fprintf(w, "event: error\ndata: %s\n\n", session.UnauthorizedBody)
					_ = rc.Flush()
				}
				return
			case <-stop:
				return
			case <-t.C:
			}
		}
	}
}

// tickEvent is the data of a "tick" event.
type tickEvent struct {
	UserID   string `json:"user_id"`
	Sequence int    `json:"sequence"`
}
