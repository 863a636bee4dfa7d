package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/authmesh/authmesh/internal/admin/adminwire"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// clientPath is the API path of the service client id.
func clientPath(id string) string { return "/admin/v1/clients/" + url.PathEscape(id) }

func clientTable(cs ...adminwire.Client) func(io.Writer) {
	return func(out io.Writer) {
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "CLIENT\tAUDIENCES\tSCOPES\tSTATUS\tCREATED")
		for _, c := range cs {
			status := "enabled"
			if c.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.ID, dash(strings.Join(c.Audiences, ",")), dash(strings.Join(c.Scopes, ",")), status, when(&c.CreatedAt))
		}
		w.Flush()
	}
}

// secretNote follows a secret shown once.
const secretNote = "Store the secret now: it is not kept and cannot be shown again."

func clientsCreate(ctx context.Context, c *client, o *options, args []string) error {
	if len(o.audiences) == 0 {
		return usageError{"a client needs at least one --audience (a service it may get tokens for)"}
	}
	body := adminwire.CreateClient{ID: args[0], Audiences: o.audiences, Scopes: append([]string{}, o.scopes...)}
	var out adminwire.Client
	if err := c.send(ctx, http.MethodPost, "/admin/v1/clients", body, &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) {
		clientTable(out)(w)
		fmt.Fprintf(w, "\nclient_secret: %s\n%s\n", out.Secret, secretNote)
	})
}

func clientsList(ctx context.Context, c *client, _ *options, _ []string) error {
	var out struct {
		Clients []adminwire.Client `json:"clients"`
	}
	if err := c.call(ctx, http.MethodGet, "/admin/v1/clients", &out); err != nil {
		return err
	}
	return c.print(out, clientTable(out.Clients...))
}

// clientAction POSTs action on the client args[0] (DELETE for "delete")
// and prints done.
func clientAction(ctx context.Context, c *client, id, action, done string) error {
	method, path := http.MethodPost, clientPath(id)+"/"+action
	if action == "delete" {
		method, path = http.MethodDelete, clientPath(id)
	}
	var out map[string]any
	if err := c.call(ctx, method, path, &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) { fmt.Fprintf(w, "client %s %s\n", id, done) })
}

func clientsDisable(ctx context.Context, c *client, _ *options, args []string) error {
	return clientAction(ctx, c, args[0], "disable", "disabled: its tokens are revoked at every validator and it gets no new ones")
}

func clientsEnable(ctx context.Context, c *client, _ *options, args []string) error {
	return clientAction(ctx, c, args[0], "enable", "enabled: it can get tokens again (those it had stay revoked)")
}

func clientsDelete(ctx context.Context, c *client, o *options, args []string) error {
	if !o.yes {
		return usageError{"deleting a client cannot be undone: add --yes"}
	}
	return clientAction(ctx, c, args[0], "delete", "deleted: its tokens are revoked at every validator")
}

func clientsRotate(ctx context.Context, c *client, _ *options, args []string) error {
	var out struct {
		ID      string `json:"id"`
		Rotated bool   `json:"rotated"`
		Secret  string `json:"client_secret"`
	}
	if err := c.call(ctx, http.MethodPost, clientPath(args[0])+"/rotate", &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) {
		fmt.Fprintf(w, "client %s: new client_secret: %s\n%s\nThe old secret and the tokens got with it no longer work.\n", args[0], out.Secret, secretNote)
	})
}
