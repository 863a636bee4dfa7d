package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client talks to the auth service's GraphQL API and to the services'
// protected route over kept-alive connections. Safe for concurrent use.
type client struct {
	http *http.Client
}

func newClient() *client {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute, DisableCompression: true}
	return &client{http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// gqlError is one GraphQL error.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// graphql posts query (with an optional bearer token) and decodes
// data[field] into out.
func (c *client) graphql(ctx context.Context, base, query, bearer, field string, out any) error {
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "revocation-bench/1.0 (Linux x86_64)")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var r struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []gqlError                 `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: status %d, undecodable body %.200q", field, resp.StatusCode, b)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("%s: %s (%v)", field, r.Errors[0].Message, r.Errors[0].Extensions["code"])
	}
	return json.Unmarshal(r.Data[field], out)
}

// account is the benchmark user's credentials.
type account struct{ Email, Password string }

// register creates the account.
func (c *client) register(ctx context.Context, base string, a account) error {
	var out struct{ Message string }
	q := fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message } }`, a.Email, a.Password)
	return c.graphql(ctx, base, q, "", "register", &out)
}

// login opens one session and returns its access token.
func (c *client) login(ctx context.Context, base string, a account) (string, error) {
	var out struct{ Token string }
	q := fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, a.Email, a.Password)
	if err := c.graphql(ctx, base, q, "", "login", &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", errors.New("login: empty token")
	}
	return out.Token, nil
}

// logout ends the session of token.
func (c *client) logout(ctx context.Context, base, token string) error {
	var ok bool
	if err := c.graphql(ctx, base, `mutation { logout }`, token, "logout", &ok); err != nil {
		return err
	}
	if !ok {
		return errors.New("logout: returned false")
	}
	return nil
}

// status calls GET <service>/api/protected with token and returns the
// HTTP status.
func (c *client) status(ctx context.Context, service, token string) (int, error) {
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
