// Package store persists the auth service's state: users, device sessions,
// signing keys, the revocation journal and the mail outbox. One implementation over
// database/sql serves both SQLite (modernc.org/sqlite, pure Go, no cgo) and
// PostgreSQL (pgx); queries are written once with ? placeholders and a small
// dialect layer rebinds them.
//
// # DSN forms
//
// Open chooses the backend from the DSN:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   PostgreSQL
//	postgresql://...                                    PostgreSQL
//	sqlite:data/authmesh.db                             SQLite file (relative or absolute path)
//	sqlite:///var/lib/authmesh/auth.db                  SQLite file, URL style (absolute path)
//	data/authmesh.db                                    a plain path is an SQLite file
//
// Any other scheme ("mysql://...") is an error. For SQLite the parent
// directory is created (mode 0700) and the database runs in WAL mode with
// busy_timeout 5000, foreign keys on and synchronous NORMAL. All writes of
// one *DB go through a single connection and multi-statement write
// transactions begin IMMEDIATE, so concurrent writers queue instead of
// failing with SQLITE_BUSY; reads use a pool of their own. For PostgreSQL
// any key word pgx understands may be given in the URL (search_path,
// connect_timeout, sslmode...).
//
// # Migrations
//
// The schema is embedded (migrations/<dialect>/NNNN_name.sql) and applied
// by Open, recorded in the schema_migrations table. Opening an up-to-date
// database applies nothing. Replicas starting at once are safe: on
// PostgreSQL migrations run under a session advisory lock scoped to the
// current schema, on SQLite inside one IMMEDIATE transaction.
//
// The rules for a new migration (TestMigrationsShareOneNumbering checks
// the first three):
//
//   - One change, one number, both dialects. A change is one pair of files
//     with the same name, migrations/postgres/NNNN_name.sql and
//     migrations/sqlite/NNNN_name.sql, landing in the same commit. The
//     numbers run 1, 2, 3... with no gap.
//   - The next number is the highest on main plus one, taken when the
//     change lands: whoever lands first keeps the number. If a rebase
//     brings a file with the number you took, renumber yours (both files)
//     to the next free one; a file already on main is never renumbered.
//   - A landed file is never edited or deleted: databases have recorded
//     its number as applied and would never see the edit. Fix a mistake
//     with a new migration.
//   - Forward only, and additive (expand, then contract). There are no
//     down migrations: rolling a release back means running the previous
//     binary on the newer schema, which it must keep working on (it logs
//     "database schema is newer than this binary" and carries on). So a
//     migration adds tables, columns that are nullable or have a default,
//     and indexes; every query names its columns. Dropping or renaming
//     something (contract) waits for a release after the one that
//     stopped using it, so the release you might roll back to no longer
//     needs it.
//   - Migrations run inside one transaction at start, while replicas wait
//     on the lock: keep each quick (no rewrite of a large table).
//
// # Time
//
// Timestamps are stored as microseconds since the Unix epoch (BIGINT) on
// both dialects, so they round-trip exactly at microsecond precision and
// compare cheaply; they are returned in UTC. A zero time.Time is stored as
// NULL and read back as the zero time.
//
// No raw token is ever stored: refresh rotation is tracked by a generation
// number per session. A *DB is safe for concurrent use.
package store
