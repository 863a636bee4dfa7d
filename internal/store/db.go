package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/authmesh/authmesh/internal/auth"
)

// Errors returned by the store. Check them with errors.Is.
var (
	// ErrNotFound is auth.ErrNotFound: the store implements auth's ports,
	// so a missing user, session or key answers the sentinel auth checks.
	ErrNotFound = auth.ErrNotFound
	// ErrEmailTaken is auth.ErrEmailTaken.
	ErrEmailTaken = auth.ErrEmailTaken
	// ErrBadDSN is returned by Open for a DSN it cannot use.
	ErrBadDSN = errors.New("store: bad DSN")
)

// The two dialects, as returned by DB.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// openTimeout bounds the first connection when the caller's context has no
// deadline, so an unreachable database fails the start instead of hanging.
const openTimeout = 15 * time.Second

// Options configures Open. The zero value is usable.
type Options struct {
	// Logger receives migration and connection messages. Default
	// slog.Default().
	Logger *slog.Logger
	// MaxOpenConns bounds the connection pool: for PostgreSQL the whole
	// pool (default 20), for SQLite the reading connections (default
	// max(4, GOMAXPROCS)); SQLite always writes through one connection.
	MaxOpenConns int
	// Tracer, when set, records a client span per database call. Default
	// nil: no tracing.
	Tracer trace.Tracer
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	dialect string
	// write runs every statement that modifies data. For SQLite it is a
	// pool of exactly one connection whose transactions begin IMMEDIATE;
	// for PostgreSQL it is the same pool as read.
	write *sql.DB
	read  *sql.DB
	log   *slog.Logger
	// maxIdle is PostgreSQL's idle-pool size, restored after dropIdle.
	maxIdle int
	tracer  trace.Tracer // nil: no spans

	writeStmts, readStmts *stmtCache
}

// Open connects to the database named by dsn (see the package doc for the
// forms), applies pending migrations and returns the store. An unreachable
// PostgreSQL server yields an error naming the host, never the password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxOpenConns < 0 {
		return nil, errors.New("store: MaxOpenConns must not be negative")
	}
	dialect, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	var db *DB
	switch dialect {
	case DialectPostgres:
		db, err = openPostgres(ctx, target, opts)
	default:
		db, err = openSQLite(ctx, target, opts)
	}
	if err != nil {
		return nil, err
	}
	db.tracer = opts.Tracer
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// parseDSN returns the dialect and what to hand its driver: the URL for
// PostgreSQL, the file path for SQLite.
func parseDSN(dsn string) (dialect, target string, err error) {
	switch {
	case strings.TrimSpace(dsn) == "":
		return "", "", fmt.Errorf("%w: empty", ErrBadDSN)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return DialectPostgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if rest, ok := strings.CutPrefix(path, "//"); ok {
			if !strings.HasPrefix(rest, "/") {
				return "", "", fmt.Errorf("%w: sqlite:// must be followed by an absolute path (sqlite:///path) or use sqlite:PATH", ErrBadDSN)
			}
			path = rest
		}
		return checkSQLitePath(path)
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return "", "", fmt.Errorf("%w: unsupported scheme %q (want postgres://, postgresql://, sqlite:PATH or a file path)", ErrBadDSN, scheme)
	default:
		return checkSQLitePath(dsn)
	}
}

func checkSQLitePath(path string) (string, string, error) {
	switch {
	case path == "":
		return "", "", fmt.Errorf("%w: sqlite: needs a file path", ErrBadDSN)
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return "", "", fmt.Errorf("%w: give SQLite a plain file path (in-memory and file: URIs are not supported)", ErrBadDSN)
	case strings.ContainsAny(path, "?#\x00"):
		return "", "", fmt.Errorf("%w: SQLite path must not contain '?', '#' or NUL", ErrBadDSN)
	}
	return DialectSQLite, path, nil
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for SQLite database: %w", err)
	}
	const common = "_busy_timeout=5000&_foreign_keys=1&_synchronous=NORMAL"
	write, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches the file to WAL before any
	// reader opens it.
	if err := connectSQLiteWriter(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	n := opts.MaxOpenConns
	if n == 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	return newDB(DialectSQLite, write, read, opts.Logger), nil
}

func openPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL URL does not parse (check the host:port, and percent-encode special characters in the user name and password)", ErrBadDSN)
	}
	// The password as given (possibly percent-encoded) and decoded.
	password, _ := u.User.Password()
	_, rawPassword, _ := strings.Cut(u.User.String(), ":")
	where := u.Host
	if where == "" {
		where = "(default host)"
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, redact(fmt.Errorf("%w: PostgreSQL DSN for %s: %w", ErrBadDSN, where, err), password, rawPassword)
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxOpenConns
	if n == 0 {
		n = 20
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := pingWithTimeout(ctx, db); err != nil {
		db.Close()
		return nil, redact(fmt.Errorf("store: connect to PostgreSQL at %s: %w", where, err), password, rawPassword)
	}
	pg := newDB(DialectPostgres, db, db, opts.Logger)
	pg.maxIdle = n
	return pg, nil
}

func pingWithTimeout(ctx context.Context, db *sql.DB) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	return db.PingContext(ctx)
}

// connectSQLiteWriter opens the writer's connection, which switches the
// file to WAL. SQLite answers that switch with SQLITE_BUSY at once, without
// waiting out busy_timeout, while another process (a replica starting at
// the same moment) holds the file: wait and try again until the open
// timeout rather than fail the start.
func connectSQLiteWriter(ctx context.Context, write *sql.DB) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	wait := 5 * time.Millisecond
	for {
		err := write.PingContext(ctx)
		if err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// redactedError hides a secret that may appear in a wrapped error's text
// while keeping the chain for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes every non-empty secret from err's text.
func redact(err error, secrets ...string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

func newDB(dialect string, write, read *sql.DB, log *slog.Logger) *DB {
	db := &DB{dialect: dialect, write: write, read: read, log: log, writeStmts: newStmtCache(write)}
	db.readStmts = db.writeStmts
	if read != write {
		db.readStmts = newStmtCache(read)
	}
	return db
}

// Close closes every connection.
func (db *DB) Close() error {
	err := db.writeStmts.close()
	if db.readStmts != db.writeStmts {
		err = errors.Join(err, db.readStmts.close())
	}
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers (for readiness probes).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.dialect, err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }
