package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps one prepared statement per query text for a pool.
// database/sql prepares it again on each connection that runs it, once;
// afterwards SQLite skips parsing and planning, which is about half the
// cost of a point lookup. It is safe for concurrent use.
type stmtCache struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for query (already rebound).
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s, nil
	}
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = s
	return s, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, s := range c.m {
		errs = append(errs, s.Close())
	}
	clear(c.m)
	return errors.Join(errs...)
}

// exec runs a modifying statement (written with ?) on the write pool,
// again if it failed without committing (see retry).
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := db.writeStmts.get(ctx, db.q(query))
	if err != nil {
		return nil, err
	}
	var res sql.Result
	err = db.retry(ctx, notCommitted, func() (err error) {
		res, err = s.ExecContext(ctx, args...)
		return err
	})
	return res, err
}

// queryWrite runs a modifying statement that returns rows (RETURNING),
// again if it failed without committing.
func (db *DB) queryWrite(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := db.writeStmts.get(ctx, db.q(query))
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	err = db.retry(ctx, notCommitted, func() (err error) {
		rows, err = s.QueryContext(ctx, args...)
		return err
	})
	return rows, err
}

// query runs a read-only statement on the read pool, again on another
// connection if its connection was lost.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := db.readStmts.get(ctx, db.q(query))
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	err = db.retry(ctx, connectionLost, func() (err error) {
		rows, err = s.QueryContext(ctx, args...)
		return err
	})
	return rows, err
}

// queryRow runs a read-only statement expected to return one row, again on
// another connection if its connection was lost; errors (sql.ErrNoRows
// included) surface from Scan.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	s, err := db.readStmts.get(ctx, db.q(query))
	if err != nil {
		return errRow{err}
	}
	if db.dialect != DialectPostgres {
		return s.QueryRowContext(ctx, args...)
	}
	return retriedRow{db: db, ctx: ctx, stmt: s, args: args}
}

// retriedRow runs its query at Scan, where *sql.Row reports its errors,
// so that a lost connection can be retried.
type retriedRow struct {
	db   *DB
	ctx  context.Context
	stmt *sql.Stmt
	args []any
}

func (r retriedRow) Scan(dest ...any) error {
	return r.db.retry(r.ctx, connectionLost, func() error {
		return r.stmt.QueryRowContext(r.ctx, r.args...).Scan(dest...)
	})
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
