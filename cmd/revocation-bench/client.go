package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authmesh/authmesh/internal/authclient"
)

// client talks to the auth service's GraphQL API and to the services'
// protected route over kept-alive connections. Safe for concurrent use.
type client struct {
	c *authclient.Client
}

func newClient() *client {
	hc := &http.Client{Transport: authclient.NewTransport(), Timeout: 5 * time.Second}
	return &client{c: authclient.New(hc, "revocation-bench/1.0 (Linux x86_64)")}
}

func (c *client) close() { c.c.CloseIdleConnections() }

// graphql posts query (with an optional bearer token) and decodes
// data[field] into out.
func (c *client) graphql(ctx context.Context, base, query, bearer, field string, out any) error {
	a, err := c.c.Do(ctx, base, authclient.Request{Query: query, Bearer: bearer})
	if errors.Is(err, authclient.ErrUndecodable) {
		return fmt.Errorf("%s: status %d, undecodable body %.200q", field, a.Status, a.Body)
	}
	if err != nil {
		return err
	}
	if len(a.Errors) > 0 {
		return fmt.Errorf("%s: %s (%v)", field, a.Errors[0].Message, a.Errors[0].Extensions["code"])
	}
	return a.Field(field, out)
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
	return c.c.Protected(ctx, service, token)
}
