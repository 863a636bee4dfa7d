package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"
)

func userTable(users ...user) func(io.Writer) {
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
	var after user
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

// session is a device session as the admin API returns it.
type session struct {
	ID         string    `json:"id"`
	DeviceType string    `json:"device_type"`
	DeviceName string    `json:"device_name"`
	IPAddress  string    `json:"ip_address"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func sessionsList(ctx context.Context, c *client, _ *options, args []string) error {
	u, err := c.resolve(ctx, args[0])
	if err != nil {
		return err
	}
	var out struct {
		Sessions []session `json:"sessions"`
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

// key is a signing key as the admin API returns it.
type key struct {
	KeyID        string    `json:"kid"`
	Algorithm    string    `json:"alg"`
	CreatedAt    time.Time `json:"created_at"`
	SignFrom     time.Time `json:"sign_from"`
	SignUntil    time.Time `json:"sign_until"`
	PublishUntil time.Time `json:"publish_until"`
	Signing      bool      `json:"signing"`
}

func keysList(ctx context.Context, c *client, _ *options, _ []string) error {
	var out struct {
		Keys []key `json:"keys"`
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

// event is a security event as the admin API returns it.
type event struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

func auditList(ctx context.Context, c *client, o *options, _ []string) error {
	q := url.Values{"limit": {fmt.Sprint(o.limit)}}
	if o.user != "" {
		q.Set("user", o.user)
	}
	var out struct {
		Events []event `json:"events"`
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
