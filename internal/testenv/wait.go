package testenv

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds, failing the test with what after 20
// seconds: tests wait on an observable condition, never on a fixed sleep.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
