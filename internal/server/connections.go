package server

import (
	"fmt"
	"net"
	"sync"
)

// fdReserve is how many file descriptors the default MAX_CONNECTIONS leaves
// for everything that is not a client connection: the database and Redis
// pools, the listener, log and SQLite files.
const fdReserve = 128

// minConnections is the smallest connection bound the service accepts: below
// it a handful of feed streams would starve the API.
const minConnections = 16

// connectionBound fills MaxConnections from the process's file-descriptor
// limit when unset, and refuses a bound the limit cannot honour.
func (c *Config) connectionBound() error {
	fds := openFileLimit()
	if fds == 0 { // unknown on this platform
		if c.MaxConnections == 0 {
			c.MaxConnections = defaultMaxConnections
		}
		return nil
	}
	room := int(min(fds, 1<<30)) - fdReserve
	if c.MaxConnections == 0 {
		if room < minConnections {
			return fmt.Errorf("MAX_CONNECTIONS: the file-descriptor limit (%d) leaves room for only %d connections; raise it (ulimit -n) to at least %d", fds, max(room, 0), minConnections+fdReserve)
		}
		c.MaxConnections = room
		return nil
	}
	if c.MaxConnections > room {
		return fmt.Errorf("MAX_CONNECTIONS=%d exceeds what the file-descriptor limit (%d) allows after %d reserved; raise the limit (ulimit -n) or lower MAX_CONNECTIONS", c.MaxConnections, fds, fdReserve)
	}
	return nil
}

// defaultMaxConnections applies where the file-descriptor limit is unknown.
const defaultMaxConnections = 10000

// limitListener counts every accepted connection, whatever it carries,
// against max: once max are open, Accept waits until one closes, so a flood
// of connections can never exhaust the process's file descriptors (which
// would also stop the database and health checks). It is
// golang.org/x/net/netutil.LimitListener, except that its connections keep
// CloseWrite: net/http half-closes a connection after an error answer
// (413, 431) so that the client reads the answer instead of a reset.
func limitListener(ln net.Listener, max int) net.Listener {
	return &boundedListener{Listener: ln, sem: make(chan struct{}, max), done: make(chan struct{})}
}

type boundedListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Accept waits for a free slot, then for a connection.
func (l *boundedListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	bc := &boundedConn{Conn: c, release: func() { <-l.sem }}
	if tc, ok := c.(*net.TCPConn); ok {
		return &boundedTCPConn{boundedConn: bc, tcp: tc}, nil
	}
	return bc, nil
}

// Close stops Accept, including one waiting for a slot.
func (l *boundedListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// boundedConn gives its slot back when closed.
type boundedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *boundedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// boundedTCPConn keeps the TCP half-close net/http uses.
type boundedTCPConn struct {
	*boundedConn
	tcp *net.TCPConn
}

// CloseWrite shuts down the writing side of the connection.
func (c *boundedTCPConn) CloseWrite() error { return c.tcp.CloseWrite() }
