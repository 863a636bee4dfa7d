package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/authmesh/authmesh/internal/admin/adminwire"
)

func userTable(users ...adminwire.User) func(io.Writer) {
	return func(out io.Writer) {
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tEMAIL\tSTATUS\tCREATED\tLAST LOGIN")
		for _, u := range users {
			status := "enabled"
			if u.Disabled {
				status = "disabled since " + when(u.DisabledAt)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, status, when(&u.CreatedAt), when(u.LastLoginAt))
		}
		w.Flush()
	}
}

func usersFind(ctx context.Context, c *client, _ *options, args []string) error {
	u, err := c.resolve(ctx, args[0])
	if err != nil {
		return err
	}
	return c.print(u, userTable(u))
}

// userAction resolves args[0] to an account, then POSTs action on it.
func userAction(ctx context.Context, c *client, who, action string) error {
	u, err := c.resolve(ctx, who)
	if err != nil {
		return err
	}
	var after adminwire.User
	if err := c.call(ctx, http.MethodPost, userPath(u.ID)+"/"+action, &after); err != nil {
		return err
	}
	return c.print(after, userTable(after))
}

func usersDisable(ctx context.Context, c *client, _ *options, args []string) error {
	return userAction(ctx, c, args[0], "disable")
}

func usersEnable(ctx context.Context, c *client, _ *options, args []string) error {
	return userAction(ctx, c, args[0], "enable")
}

func usersDelete(ctx context.Context, c *client, o *options, args []string) error {
	if !o.yes {
		return usageError{"deleting an account cannot be undone: add --yes"}
	}
	u, err := c.resolve(ctx, args[0])
	if err != nil {
		return err
	}
	var out struct {
		Deleted bool   `json:"deleted"`
		ID      string `json:"id"`
	}
	if err := c.call(ctx, http.MethodDelete, userPath(u.ID), &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) {
		fmt.Fprintf(w, "deleted user %s (%s); every token of it is revoked\n", u.ID, u.Email)
	})
}

func sessionsList(ctx context.Context, c *client, _ *options, args []string) error {
	u, err := c.resolve(ctx, args[0])
	if err != nil {
		return err
	}
	var out struct {
		Sessions []adminwire.Session `json:"sessions"`
	}
	if err := c.call(ctx, http.MethodGet, userPath(u.ID)+"/sessions", &out); err != nil {
		return err
	}
	return c.print(out, func(o io.Writer) {
		w := tabwriter.NewWriter(o, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SESSION\tDEVICE\tIP\tCREATED\tLAST USED\tEXPIRES")
		for _, s := range out.Sessions {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.DeviceName, s.IPAddress, when(&s.CreatedAt), when(&s.LastUsedAt), when(&s.ExpiresAt))
		}
		w.Flush()
	})
}

func sessionsRevoke(ctx context.Context, c *client, _ *options, args []string) error {
	u, err := c.resolve(ctx, args[0])
	if err != nil {
		return err
	}
	var out struct {
		Revoked bool   `json:"revoked"`
		ID      string `json:"id"`
	}
	if err := c.call(ctx, http.MethodDelete, userPath(u.ID)+"/sessions/"+url.PathEscape(args[1]), &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) { fmt.Fprintf(w, "revoked session %s of %s\n", args[1], u.Email) })
}

func keysList(ctx context.Context, c *client, _ *options, _ []string) error {
	var out struct {
		Keys []adminwire.Key `json:"keys"`
	}
	if err := c.call(ctx, http.MethodGet, "/admin/v1/keys", &out); err != nil {
		return err
	}
	return c.print(out, func(o io.Writer) {
		w := tabwriter.NewWriter(o, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KID\tALG\tSIGNING\tSIGNS FROM\tSIGNS UNTIL\tPUBLISHED UNTIL")
		for _, k := range out.Keys {
			signing := ""
			if k.Signing {
				signing = "yes"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KeyID, k.Algorithm, signing, when(&k.SignFrom), when(&k.SignUntil), when(&k.PublishUntil))
		}
		w.Flush()
	})
}

func keysRotate(ctx context.Context, c *client, _ *options, _ []string) error {
	var out struct {
		SigningKid string `json:"signing_kid"`
	}
	if err := c.call(ctx, http.MethodPost, "/admin/v1/keys/rotate", &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) {
		fmt.Fprintf(w, "new signing key %s; tokens of the previous key stay valid until they expire\n", out.SigningKid)
	})
}

func tokensRevokeBefore(ctx context.Context, c *client, o *options, args []string) error {
	body := map[string]string{"before": args[0]}
	if o.user != "" {
		body["user"] = o.user
	}
	var out struct {
		Before        string `json:"before"`
		UserID        string `json:"user_id"`
		SessionsEnded int    `json:"sessions_ended"`
	}
	if err := c.send(ctx, http.MethodPost, "/admin/v1/revocations/issued-before", body, &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) {
		who := "every user"
		if out.UserID != "" {
			who = "user " + out.UserID
		}
		fmt.Fprintf(w, "revoked every token of %s issued before %s; %d sessions ended\n", who, out.Before, out.SessionsEnded)
	})
}

func auditList(ctx context.Context, c *client, o *options, _ []string) error {
	q := url.Values{"limit": {fmt.Sprint(o.limit)}}
	if o.user != "" {
		q.Set("user", o.user)
	}
	var out struct {
		Events []adminwire.Event `json:"events"`
	}
	if err := c.call(ctx, http.MethodGet, "/admin/v1/audit?"+q.Encode(), &out); err != nil {
		return err
	}
	return c.print(out, func(o io.Writer) {
		w := tabwriter.NewWriter(o, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "TIME\tEVENT\tUSER\tSESSION\tIP\tDETAIL")
		for _, e := range out.Events {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", when(&e.At), e.Event, dash(e.UserID), dash(e.SessionID), dash(e.IP), e.Detail)
		}
		w.Flush()
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func keysWithdraw(ctx context.Context, c *client, _ *options, args []string) error {
	var out struct {
		Withdrawn bool   `json:"withdrawn"`
		KeyID     string `json:"kid"`
	}
	if err := c.call(ctx, http.MethodPost, "/admin/v1/keys/"+url.PathEscape(args[0])+"/withdraw", &out); err != nil {
		return err
	}
	return c.print(out, func(w io.Writer) {
		fmt.Fprintf(w, "signing key %s withdrawn: it no longer signs, and validators refuse the tokens it signed\n", args[0])
	})
}
