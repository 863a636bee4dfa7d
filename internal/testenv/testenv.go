// Package testenv starts the real services tests talk to: redis-server
// processes on free loopback ports in temporary directories, and PostgreSQL
// schemas on the server started by scripts/test.sh. It also holds the
// helpers several packages' tests share: WaitFor and a log buffer.
//
// A missing dependency fails the test with a message saying how to get it;
// nothing is skipped.
package testenv

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/authmesh/authmesh/internal/proc"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := proc.FreePort()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return port
}

// lookPath finds a binary or fails the test with an actionable message.
func lookPath(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("testenv: %s not found on PATH: install it (apt-get install -y %s) or run the suite with scripts/test.sh, which does", name, pkg)
	}
	return p
}

// addr formats a loopback address.
func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
