package server

import (
	"net"
	"testing"
)

// TestLimitListenerBoundsOpenConnections: the bound's next connection is
// accepted only once an open one closes, and accepted TCP connections keep
// CloseWrite (net/http's graceful close of an error answer).
func TestLimitListenerBoundsOpenConnections(t *testing.T) {
	const bound = 3
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitListener(raw, bound)
	defer ln.Close()
	accepted := make(chan net.Conn, bound+1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for range bound + 1 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var open []net.Conn
	for range bound {
		c := <-accepted
		if _, ok := c.(interface{ CloseWrite() error }); !ok {
			t.Fatalf("accepted %T lost CloseWrite", c)
		}
		open = append(open, c)
	}
	select {
	case <-accepted:
		t.Fatalf("accepted connection %d with %d open; want it to wait", bound+1, len(open))
	default:
	}
	open[0].Close()
	if c, ok := <-accepted; !ok || c == nil {
		t.Fatal("the waiting connection was not accepted after one closed")
	} else {
		c.Close()
	}
	for _, c := range open[1:] {
		c.Close()
	}
}
