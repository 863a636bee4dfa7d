package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/authmesh/authmesh/internal/authclient"
)

// Bounds on one request: far above REDIS_TIMEOUT (2 s) and the store's
// retry of a PostgreSQL restart (5 s) at the auth service; a microservice
// answers from memory, so a slow answer means it hangs.
const (
	authTimeout    = 15 * time.Second
	serviceTimeout = 3 * time.Second
)

// client talks to the auth replicas' GraphQL API and to the
// microservices' protected route. Safe for concurrent use.
type client struct {
	c *authclient.Client
}

func newClient() *client {
	return &client{c: authclient.New(&http.Client{Transport: authclient.NewTransport()}, "authmesh-soak/1.0 (Linux x86_64)")}
}

// outcome is how one request ended, as a client sees it: kind is "" on
// success, else the error's kind (errorKinds).
type outcome struct {
	kind   string
	detail string
}

// Kinds of client-visible errors.
const (
	kind5xx         = "5xx"
	kindTimeout     = "timeout"
	kindConnection  = "connection refused or reset"
	kindRejected    = "401 for a live token"
	kindUnavailable = "503 from a microservice"
)

func transportKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return kindTimeout
	}
	return kindConnection
}

// graphql posts query (with an optional bearer token) to base and decodes
// data[field] into out. A GraphQL error's kind is its code.
func (c *client) graphql(ctx context.Context, base, query, bearer, field string, out any) outcome {
	ctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	a, err := c.c.Do(ctx, base, authclient.Request{Query: query, Bearer: bearer})
	if a == nil {
		return outcome{transportKind(err), field + ": " + err.Error()}
	}
	if a.Status >= 500 {
		return outcome{kind5xx, fmt.Sprintf("%s: status %d from %s", field, a.Status, base)}
	}
	if err != nil {
		return outcome{fmt.Sprintf("status %d", a.Status), field + ": undecodable answer"}
	}
	if len(a.Errors) > 0 {
		code := a.Errors[0].Code()
		if code == "" {
			code = "GraphQL error without a code"
		}
		return outcome{code, field + ": " + a.Errors[0].Message}
	}
	if err := a.Field(field, out); err != nil {
		return outcome{"undecodable data", field + ": " + err.Error()}
	}
	return outcome{}
}

// validate calls GET <service>/api/protected with token and returns the
// status, 0 when no answer came.
func (c *client) validate(ctx context.Context, service, token string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, serviceTimeout)
	defer cancel()
	return c.c.Protected(ctx, service, token)
}
