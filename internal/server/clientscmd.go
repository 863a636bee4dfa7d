package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ClientsUsage documents the operator command "server clients", the
// offline and bootstrap path (docs/OPERATIONS.md repeats it).
const ClientsUsage = `usage: server clients COMMAND
Runs against the database and revocation path directly, without the admin
API: for a first client, or ADMIN_ADDR=off. With the service running prefer
"authmesh clients ...": in embedded (feed) mode its revocations reach the
validators at once, this command's at the running service's next journal
poll (about a second).
  create ID -audience AUD [-audience AUD2 ...] [-scope S ...]
                 register a service client; prints its secret, once
  list           list clients: id, audiences, scopes, state
  disable ID     refuse it tokens and revoke those it has, everywhere
  enable ID      let a disabled client get tokens again
  rotate ID      new secret (printed once); revokes tokens got with the old
  delete ID      revoke its tokens and forget it
`

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ClientsCommand runs one "server clients" command (args after
// "clients": create, list, disable, enable, rotate or delete, see
// ClientsUsage) against the service's database and revocation path,
// writing its result to stdout.
func (s *Server) ClientsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("clients: a command is required\n%s", ClientsUsage)
	}
	c := s.clients
	cmd, rest := args[0], args[1:]
	id := ""
	if cmd != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("clients %s: the client id is required\n%s", cmd, ClientsUsage)
		}
		id, rest = rest[0], rest[1:]
	}
	var audiences, scopes listFlag
	fs := flag.NewFlagSet("clients "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd == "create" {
		fs.Var(&audiences, "audience", "a service the client may get tokens for (repeatable)")
		fs.Var(&scopes, "scope", "a scope the client may be granted (repeatable)")
	}
	if err := fs.Parse(rest); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("clients %s: bad arguments %q\n%s", cmd, strings.Join(rest, " "), ClientsUsage)
	}
	switch cmd {
	case "create":
		secret, err := c.Create(ctx, id, audiences, scopes)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s created\nclient_secret: %s\nStore the secret now: it is not kept and cannot be shown again.\n", id, secret)
	case "list":
		list, err := c.List(ctx)
		if err != nil {
			return err
		}
		for _, cl := range list {
			state := "enabled"
			if cl.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(stdout, "%s\taudiences=%s\tscopes=%s\t%s\n", cl.ID, strings.Join(cl.Audiences, ","), strings.Join(cl.Scopes, ","), state)
		}
	case "disable":
		if err := c.Disable(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s disabled: its tokens are revoked everywhere\n", id)
	case "enable":
		if err := c.Enable(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s enabled\n", id)
	case "rotate":
		secret, err := c.Rotate(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s: new client_secret: %s\nThe old secret and the tokens got with it no longer work.\n", id, secret)
	case "delete":
		if err := c.Delete(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s deleted: its tokens are revoked everywhere\n", id)
	default:
		return fmt.Errorf("clients: unknown command %q\n%s", cmd, ClientsUsage)
	}
	return nil
}
