package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
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
	http *http.Client
}

func newClient() *client {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute, DisableCompression: true}
	return &client{http: &http.Client{Transport: tr}}
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
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return outcome{kindConnection, err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "authmesh-soak/1.0 (Linux x86_64)")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return outcome{transportKind(err), field + ": " + err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return outcome{transportKind(err), field + ": " + err.Error()}
	}
	if resp.StatusCode >= 500 {
		return outcome{kind5xx, fmt.Sprintf("%s: status %d from %s", field, resp.StatusCode, base)}
	}
	var r struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return outcome{fmt.Sprintf("status %d", resp.StatusCode), field + ": undecodable answer"}
	}
	if len(r.Errors) > 0 {
		code, _ := r.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = "GraphQL error without a code"
		}
		return outcome{code, field + ": " + r.Errors[0].Message}
	}
	if err := json.Unmarshal(r.Data[field], out); err != nil {
		return outcome{"undecodable data", field + ": " + err.Error()}
	}
	return outcome{}
}

// validate calls GET <service>/api/protected with token and returns the
// status, 0 when no answer came.
func (c *client) validate(ctx context.Context, service, token string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, serviceTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, service+"/api/protected", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}
