package server

import (
	"fmt"
	"net"

	"golang.org/x/net/netutil"
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
// would also stop the database and health checks).
func limitListener(ln net.Listener, max int) net.Listener {
	return netutil.LimitListener(ln, max)
}
