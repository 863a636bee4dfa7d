package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/authmesh/authmesh/internal/token/keyring"
)

// keyLockKey is the first half of the PostgreSQL advisory lock that
// serialises signing-key creation ("keys" in ASCII); the second half is a
// hash of the current schema.
const keyLockKey = 0x6b657973

// LockKeys serialises signing-key creation across replicas, so that
// replicas starting together on an empty database create one key rather
// than one each. On PostgreSQL it holds a session advisory lock on a
// dedicated connection until unlock is called. On SQLite, which is used by
// one process and already has a single writer, it is a no-op.
func (db *DB) LockKeys(ctx context.Context) (unlock func(), err error) {
	if db.dialect != DialectPostgres {
		return func() {}, nil
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock keys: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext(current_schema()))", keyLockKey); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: lock keys: %w", err)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", keyLockKey); err != nil {
			db.log.Warn("store: release key lock", "err", err)
			// Discard the connection: closing it releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

var (
	_ keyring.KeyLocker  = (*DB)(nil)
	_ keyring.KeyUpdater = (*DB)(nil)
)
