package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/authmesh/authmesh/internal/secretenv"
)

// Exit codes a script can test.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitNotFound = 3
	exitRefused  = 4
)

// command is one leaf command of the CLI.
type command struct {
	group, name string
	args        string // the positional arguments, for usage
	help        string
	nargs       int
	flags       func(fs *flag.FlagSet, o *options)
	do          func(ctx context.Context, c *client, o *options, args []string) error
}

// options are the flags every command takes, plus the few some add.
type options struct {
	url, token string
	caFile     string
	json       bool
	yes        bool
	user       string
	limit      int
	audiences  listFlag // clients create
	scopes     listFlag
}

// usageError is a mistake in the command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func commands() []command {
	return []command{
		{group: "users", name: "find", args: "EMAIL|ID", nargs: 1, help: "Show the account with that email or id.", do: usersFind},
		{group: "users", name: "disable", args: "EMAIL|ID", nargs: 1, help: "Disable the account: every token of it is revoked at every validator, every session ended, and login refused until it is enabled.", do: usersDisable},
		{group: "users", name: "enable", args: "EMAIL|ID", nargs: 1, help: "Enable a disabled account: it can log in again.", do: usersEnable},
		{group: "users", name: "delete", args: "EMAIL|ID", nargs: 1, help: "Delete the account and its sessions, after revoking every token of it. Needs --yes.", do: usersDelete,
			flags: func(fs *flag.FlagSet, o *options) { fs.BoolVar(&o.yes, "yes", false, "really delete the account") }},
		{group: "sessions", name: "list", args: "EMAIL|ID", nargs: 1, help: "List the account's live sessions, newest first.", do: sessionsList},
		{group: "sessions", name: "revoke", args: "EMAIL|ID SESSION_ID", nargs: 2, help: "End one session of the account and revoke its tokens everywhere.", do: sessionsRevoke},
		{group: "tokens", name: "revoke-before", args: "TIME|now", nargs: 1, help: "Revoke every token issued before TIME (RFC 3339, or now), of every user or of --user, and end the sessions begun before it. Validators must be of the release that knows the \"all\" revocation kind.", do: tokensRevokeBefore,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.user, "user", "", "only this account (email or id)")
			}},
		{group: "audit", name: "list", nargs: 0, help: "List recent security events (logins and failures, logouts, refresh-token reuse, admin actions), newest first.", do: auditList,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.user, "user", "", "only this account's events (email or id)")
				fs.IntVar(&o.limit, "limit", 100, "at most this many events (1 to 1000)")
			}},
		{group: "keys", name: "list", nargs: 0, help: "List the signing keys published now; the one signing new tokens is marked.", do: keysList},
		{group: "keys", name: "withdraw", args: "KID", nargs: 1, help: "Withdraw a leaked signing key: it stops signing, leaves the JWKS, and every token it signed is revoked at every validator (their users log in again).", do: keysWithdraw},
		{group: "clients", name: "create", args: "ID", nargs: 1, help: "Register a service client (OAuth 2.0 client credentials) that may get tokens for each --audience with the --scope values; prints its secret, once.", do: clientsCreate,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.Var(&o.audiences, "audience", "a service the client may get tokens for (repeatable, at least one)")
				fs.Var(&o.scopes, "scope", "a scope the client may be granted (repeatable)")
			}},
		{group: "clients", name: "list", nargs: 0, help: "List the service clients: audiences, scopes, enabled or disabled. Secrets are never shown.", do: clientsList},
		{group: "clients", name: "disable", args: "ID", nargs: 1, help: "Disable the client: it gets no new tokens, and those it has are revoked at every validator at the latency of a logout.", do: clientsDisable},
		{group: "clients", name: "enable", args: "ID", nargs: 1, help: "Enable a disabled client: it can get tokens again (those it had stay revoked).", do: clientsEnable},
		{group: "clients", name: "rotate", args: "ID", nargs: 1, help: "Give the client a new secret, printed once; the old one stops working and the tokens got with it are revoked at every validator.", do: clientsRotate},
		{group: "clients", name: "delete", args: "ID", nargs: 1, help: "Revoke the client's tokens at every validator and forget it. Needs --yes.", do: clientsDelete,
			flags: func(fs *flag.FlagSet, o *options) { fs.BoolVar(&o.yes, "yes", false, "really delete the client") }},
		{group: "keys", name: "rotate", nargs: 0, help: "Make a new key sign from now. Tokens of the old key stay valid until they expire (to cut them off, withdraw it: authmesh keys withdraw KID).", do: keysRotate},
	}
}

// run executes the command in args and returns the process's exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || isHelp(args[0]) {
		topUsage(stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "authmesh", version)
		return exitOK
	}
	group := args[0]
	var inGroup []command
	for _, c := range cmds {
		if c.group == group {
			inGroup = append(inGroup, c)
		}
	}
	if len(inGroup) == 0 {
		fmt.Fprintf(stderr, "authmesh: unknown command %q; run authmesh --help\n", group)
		return exitUsage
	}
	// "authmesh audit [flags]" is "authmesh audit list [flags]".
	if group == "audit" && (len(args) == 1 || strings.HasPrefix(args[1], "-") && !isHelp(args[1])) {
		args = append([]string{group, "list"}, args[1:]...)
	}
	if len(args) < 2 || isHelp(args[1]) {
		groupUsage(stdout, group, inGroup)
		if len(args) < 2 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range inGroup {
		if c.name == args[1] {
			return c.run(ctx, args[2:], getenv, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "authmesh: unknown command %q; run authmesh %s --help\n", group+" "+args[1], group)
	return exitUsage
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" || a == "help" }

// run parses the command's flags (anywhere among its arguments), then
// calls it against the admin API.
func (c command) run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("authmesh "+c.group+" "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "admin API base URL (default $AUTHMESH_ADMIN_URL, else http://$ADMIN_ADDR, else http://127.0.0.1:9091)")
	fs.StringVar(&o.token, "token", "", "admin token (default $ADMIN_TOKEN, or the file $ADMIN_TOKEN_FILE names)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM certificate authorities to verify an https admin URL with, instead of the system's (default $AUTHMESH_ADMIN_CA_FILE)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	if c.flags != nil {
		c.flags(fs, &o)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: authmesh %s %s [flags] %s\n\n%s\n\nAn argument that starts with \"-\" goes after \"--\".\n\nflags:\n", c.group, c.name, c.args, c.help)
		fs.PrintDefaults()
	}
	// Everything after "--" is an argument, even if it starts with "-" (a
	// kid may).
	var pos, rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	pos = append(pos, rest...)
	if len(pos) != c.nargs {
		fmt.Fprintf(stderr, "authmesh %s %s: want %d argument(s) %s, got %d; see --help\n", c.group, c.name, c.nargs, c.args, len(pos))
		return exitUsage
	}
	cl, err := newClient(o, getenv, stdout)
	if err == nil {
		err = c.do(ctx, cl, &o, pos)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "authmesh %s %s: %v\n", c.group, c.name, err)
	var ue usageError
	var ae *apiError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ae):
		return ae.exitCode()
	}
	return exitFailed
}

// newClient resolves the API's address and token from flags and getenv.
func newClient(o options, getenv func(string) string, stdout io.Writer) (*client, error) {
	base := o.url
	if base == "" {
		base = getenv("AUTHMESH_ADMIN_URL")
	}
	// Beside the service (its environment), ADMIN_TLS_CERT_FILE says the
	// admin API speaks https.
	scheme := "http://"
	if getenv("ADMIN_TLS_CERT_FILE") != "" {
		scheme = "https://"
	}
	if base == "" {
		if addr := getenv("ADMIN_ADDR"); addr != "" {
			base = scheme + addrForClient(addr)
		}
	}
	if base == "" {
		base = scheme + "127.0.0.1:9091"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Sprintf("admin URL %q must be an absolute http(s) URL such as http://127.0.0.1:9091", base)}
	}
	token := o.token
	if token == "" {
		if token, err = secretenv.Lookup(getenv, "ADMIN_TOKEN"); err != nil {
			return nil, usageError{err.Error()}
		}
		token = strings.TrimSpace(token)
	}
	c := &client{base: strings.TrimRight(base, "/"), token: token, out: stdout, json: o.json}
	caFile := o.caFile
	if caFile == "" {
		caFile = getenv("AUTHMESH_ADMIN_CA_FILE")
	}
	if caFile != "" {
		if u.Scheme != "https" {
			return nil, usageError{fmt.Sprintf("a CA file (--ca-file or AUTHMESH_ADMIN_CA_FILE) verifies https only; the admin URL %s is plain http", base)}
		}
		pool, err := loadCAs(caFile)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		c.http.Transport = &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		}
	}
	return c, nil
}

// loadCAs reads PEM certificate authorities from file.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// addrForClient turns a listen address into one to connect to: an
// unspecified host (":9091", "0.0.0.0:9091") is this machine's loopback.
func addrForClient(addr string) string {
	switch {
	case strings.HasPrefix(addr, ":"):
		return "127.0.0.1" + addr
	case strings.HasPrefix(addr, "0.0.0.0:"):
		return "127.0.0.1" + strings.TrimPrefix(addr, "0.0.0.0")
	case strings.HasPrefix(addr, "[::]:"):
		return "[::1]" + strings.TrimPrefix(addr, "[::]")
	}
	return addr
}

func topUsage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "usage: authmesh COMMAND [flags]\n\nThe operator's CLI over the auth service's admin API (ADMIN_ADDR).\n\ncommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-36s %s\n", c.group+" "+c.name+" "+c.args, firstSentence(c.help))
	}
	fmt.Fprintln(w, "\nRun authmesh COMMAND --help for its flags (--url, --token, --ca-file, --json).")
	fmt.Fprintln(w, "Exit codes: 0 done, 1 failed, 2 usage or input refused, 3 not found, 4 admin token refused.")
}

func groupUsage(w io.Writer, group string, cmds []command) {
	fmt.Fprintf(w, "usage: authmesh %s COMMAND [flags]\n\ncommands:\n", group)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-36s %s\n", c.group+" "+c.name+" "+c.args, firstSentence(c.help))
	}
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
