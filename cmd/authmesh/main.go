// Command authmesh is the operator's CLI over the auth service's admin API
// (/admin/v1 on ADMIN_ADDR; docs/API.md, Admin API):
//
//	authmesh users find EMAIL|ID
//	authmesh users disable EMAIL|ID      revoke everything of the user, refuse login
//	authmesh users enable EMAIL|ID
//	authmesh users delete EMAIL|ID --yes
//	authmesh sessions list EMAIL|ID
//	authmesh sessions revoke EMAIL|ID SESSION_ID
//	authmesh tokens revoke-before TIME|now [--user EMAIL|ID]
//	authmesh audit [--user EMAIL|ID] [--limit N]
//	authmesh keys list
//	authmesh keys rotate
//	authmesh keys withdraw KID
//	authmesh clients create ID --audience AUD [--audience AUD2 ...] [--scope S ...]
//	authmesh clients list
//	authmesh clients disable|enable|rotate ID
//	authmesh clients delete ID --yes
//	authmesh version
//
// Every command takes --help, --json (machine-readable output instead of a
// table), --url (default $AUTHMESH_ADMIN_URL, else http://$ADMIN_ADDR,
// else http://127.0.0.1:9091; https instead of http when
// $ADMIN_TLS_CERT_FILE is set, as beside the service), --token (default
// $ADMIN_TOKEN or the file $ADMIN_TOKEN_FILE names) and --ca-file (PEM
// certificate authorities to verify an https URL with, default
// $AUTHMESH_ADMIN_CA_FILE, else the system's roots).
//
// Exit codes: 0 done; 1 failed (unreachable, server error); 2 usage (bad
// command, flag or argument, or the API refused the input); 3 not found
// (no such user, session, key or client); 4 refused (admin token missing or
// wrong).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is the release, set at link time by scripts/build.sh.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
