package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/admin/adminwire"
)

// client calls the admin API and prints its answers.
type client struct {
	base, token string
	out         io.Writer
	json        bool
	http        http.Client
}

// apiError is an error answer of the admin API.
type apiError struct {
	status int
	Code   string `json:"code"`
	Msg    string `json:"error"`
}

func (e *apiError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("admin API answered %d", e.status)
	}
	return fmt.Sprintf("%s (%d %s)", e.Msg, e.status, e.Code)
}

// exitCode maps the answer to the CLI's exit codes.
func (e *apiError) exitCode() int {
	switch {
	case e.status == http.StatusNotFound:
		return exitNotFound
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		return exitRefused
	case e.status >= 400 && e.status < 500:
		return exitUsage
	}
	return exitFailed
}

// call sends one request without a body and decodes a 2xx answer into out.
func (c *client) call(ctx context.Context, method, path string, out any) error {
	return c.send(ctx, method, path, nil, out)
}

// send sends one request with in (when not nil) as its JSON body and
// decodes a 2xx answer into out.
func (c *client) send(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API unreachable at %s (is the auth service running, and ADMIN_ADDR/--url right?): %w", c.base, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{status: resp.StatusCode}
		_ = json.Unmarshal(answer, e)
		return e
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("admin API answered %d with unreadable JSON: %w", resp.StatusCode, err)
	}
	return nil
}

// userPath is the API path of the account named by who (email or id).
func userPath(who string) string { return "/admin/v1/users/" + url.PathEscape(who) }

// resolve returns the id of the account named by who (an email or an id).
func (c *client) resolve(ctx context.Context, who string) (adminwire.User, error) {
	if strings.TrimSpace(who) == "" {
		return adminwire.User{}, usageError{"give a user's email or id"}
	}
	var u adminwire.User
	err := c.call(ctx, http.MethodGet, userPath(who), &u)
	return u, err
}

// print writes v as JSON with --json, else calls table.
func (c *client) print(v any, table func(w io.Writer)) error {
	if c.json {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	table(c.out)
	return nil
}

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
