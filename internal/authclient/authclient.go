// Package authclient is the operator commands' client (cmd/soak,
// cmd/revocation-bench, cmd/loadtest) of the auth service's GraphQL API
// and of a validator's protected route (GET /api/protected with a bearer
// token). It only moves requests and answers: what counts as a failure,
// and how long a request may take, stay with each command.
package authclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxAnswer bounds the body of a GraphQL answer that is read.
const maxAnswer = 1 << 20

// maxProtected bounds the body of a protected route's answer drained
// before the connection is reused.
const maxProtected = 1 << 16

// ErrUndecodable: the answer's body is not a GraphQL JSON answer (a proxy's
// error page, an empty body).
var ErrUndecodable = errors.New("authclient: the answer is not GraphQL JSON")

// Client sends GraphQL requests to auth services and bearer requests to
// validators. It is safe for concurrent use.
type Client struct {
	hc        *http.Client
	userAgent string
}

// New returns a Client sending its requests through hc with the
// User-Agent userAgent (the default of net/http when empty).
func New(hc *http.Client, userAgent string) *Client {
	return &Client{hc: hc, userAgent: userAgent}
}

// NewTransport returns a transport keeping enough connections alive for
// many concurrent workers against a few services, without compression.
func NewTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute, DisableCompression: true}
}

// CloseIdleConnections closes the kept-alive connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Request is one GraphQL operation.
type Request struct {
	Query string
	// Variables are sent when not nil.
	Variables map[string]any
	// Bearer is sent as "Authorization: Bearer <Bearer>" when not empty.
	Bearer string
}

// Answer is an auth service's answer to one GraphQL request.
type Answer struct {
	Status int    `json:"-"` // the HTTP status
	Body   []byte `json:"-"` // the body, at most 1 MiB of it
	// Data and Errors are the decoded body.
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Error is one GraphQL error of an answer.
type Error struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code, "" when it has none.
func (e Error) Code() string {
	code, _ := e.Extensions["code"].(string)
	return code
}

// Do posts r to base+"/graphql". When the exchange fails (no answer, or a
// body cut short) it returns nil and the transport's error; when the body
// is not JSON, the Answer (Status and Body set) and ErrUndecodable.
func (c *Client) Do(ctx context.Context, base string, r Request) (*Answer, error) {
	payload := map[string]any{"query": r.Query}
	if r.Variables != nil {
		payload["variables"] = r.Variables
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.Bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	a := &Answer{Status: resp.StatusCode, Body: b}
	if err := json.Unmarshal(b, a); err != nil {
		return a, ErrUndecodable
	}
	return a, nil
}

// Field decodes data[name] into out.
func (a *Answer) Field(name string, out any) error {
	var data map[string]json.RawMessage
	if len(a.Data) > 0 {
		if err := json.Unmarshal(a.Data, &data); err != nil {
			return err
		}
	}
	return json.Unmarshal(data[name], out)
}

// Protected calls GET service+"/api/protected" with token as its bearer
// and returns the HTTP status; 0 and the error when no answer came.
func (c *Client) Protected(ctx context.Context, service, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, service+"/api/protected", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProtected))
	resp.Body.Close()
	return resp.StatusCode, nil
}
