//go:build unix

package feed

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/testenv"
)

// A client that stops reading neither delays Revoke nor holds its stream
// forever: the write deadline drops it.
func TestFeedSlowClientNeitherBlocksRevokeNorLingers(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{WriteTimeout: 100 * time.Millisecond, Heartbeat: time.Hour}, "")
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { // a small window, set before the handshake
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nAccept: %s\r\n\r\n", feedwire.Path, feedwire.ContentType)
	testenv.WaitFor(t, "the stream to open", func() bool { return srv.handler.Clients() == 1 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		revokeN(t, store, 1, 30_000) // several MB of events, never read
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Revoke blocked behind a client that does not read")
	}
	testenv.WaitFor(t, "the stalled stream to be dropped", func() bool { return srv.handler.Clients() == 0 })
}
