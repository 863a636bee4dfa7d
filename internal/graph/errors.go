package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/authmesh/authmesh/internal/auth"
)

// codeBadRequest is extensions.code of requests that are not GraphQL at all.
const codeBadRequest = "BAD_REQUEST"

// toGraphQLError is the one place that turns an error into what a client
// sees. gqlgen's own errors (parse and validation failures, query limits)
// pass through with their code. Errors from the Service are shown with
// auth.ErrorCode and auth.ErrorMessage, plus retryAfter (whole seconds) for
// RATE_LIMITED. Anything else is INTERNAL with only a request id; internal
// reports whether that happened, so the caller logs the cause.
func toGraphQLError(err error, reqID string) (out *gqlerror.Error, internal bool) {
	var gqlErr *gqlerror.Error
	cause := err
	if errors.As(err, &gqlErr) {
		if gqlErr.Err == nil {
			return gqlErr, false // gqlgen's own: already safe and coded
		}
		cause = gqlErr.Err
	}
	out = &gqlerror.Error{Extensions: map[string]any{}}
	if gqlErr != nil {
		out.Path, out.Locations = gqlErr.Path, gqlErr.Locations
	}
	code := auth.ErrorCode(cause)
	out.Extensions["code"] = string(code)
	if code == auth.CodeInternal {
		out.Message = fmt.Sprintf("internal error (request id %s)", reqID)
		return out, true
	}
	out.Message = auth.ErrorMessage(cause)
	if code == auth.CodeRateLimited {
		var ae *auth.Error
		errors.As(cause, &ae)
		out.Extensions["retryAfter"] = retrySeconds(ae.RetryAfter)
	}
	return out, false
}

// retrySeconds rounds d up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// presenter is gqlgen's error presenter: toGraphQLError plus logging of
// internal errors with their request id.
func presenter(log *slog.Logger) func(context.Context, error) *gqlerror.Error {
	return func(ctx context.Context, err error) *gqlerror.Error {
		id := requestID(ctx)
		out, internal := toGraphQLError(err, id)
		if internal {
			attrs := []any{"request_id", id, "err", err}
			var p *panicError
			if errors.As(err, &p) {
				attrs = append(attrs, "stack", string(p.stack))
			}
			if out.Path != nil {
				attrs = append(attrs, "path", out.Path.String())
			}
			log.ErrorContext(ctx, "graphql: internal error", attrs...)
		}
		return out
	}
}

// panicError carries a recovered resolver panic to the presenter, which logs
// it and shows INTERNAL.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("graph: panic in resolver: %v", p.value) }

// recoverPanic is gqlgen's recover function.
func recoverPanic(_ context.Context, v any) error {
	return &panicError{value: v, stack: debug.Stack()}
}

// writeBadRequest answers a request that is not GraphQL at all with status
// and a GraphQL-shaped JSON error body.
func writeBadRequest(w http.ResponseWriter, status int, msg string) {
	writeError(w, status, codeBadRequest, msg)
}

// writeError writes a response holding one error with code.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeResponse(w, status, &graphql.Response{Errors: gqlerror.List{{
		Message:    msg,
		Extensions: map[string]any{"code": code},
	}}})
}

// writeResponse writes resp as JSON with status.
func writeResponse(w http.ResponseWriter, status int, resp *graphql.Response) {
	body, err := json.Marshal(resp)
	if err != nil { // cannot happen: Data is already JSON
		status = http.StatusInternalServerError
		body = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
