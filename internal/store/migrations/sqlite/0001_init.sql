-- Users, device sessions, signing keys and the revocation journal.
-- Times are microseconds since the Unix epoch; NULL means "never".

CREATE TABLE users (
	id                 TEXT    PRIMARY KEY,
	email              TEXT    NOT NULL UNIQUE,
	password_hash      TEXT    NOT NULL,
	created_at         INTEGER NOT NULL,
	last_login_at      INTEGER,
	tokens_valid_after INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
	id           TEXT    PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_type  TEXT    NOT NULL DEFAULT '',
	device_name  TEXT    NOT NULL DEFAULT '',
	ip_address   TEXT    NOT NULL DEFAULT '',
	user_agent   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	refresh_gen  INTEGER NOT NULL DEFAULT 0,
	rotated_at   INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE signing_keys (
	id            TEXT    PRIMARY KEY,
	algorithm     TEXT    NOT NULL,
	private_key   BLOB    NOT NULL,
	sealed        INTEGER NOT NULL DEFAULT 0,
	public_key    BLOB    NOT NULL,
	created_at    INTEGER,
	sign_from     INTEGER,
	sign_until    INTEGER,
	publish_until INTEGER
);

-- AUTOINCREMENT: a seq is never reused, even after pruning the newest rows,
-- so a consumer's cursor stays meaningful.
-- issued_before, expires and made_at are unix seconds, as in revoke.Entry.
CREATE TABLE revocations (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	kind          TEXT    NOT NULL,
	subject       TEXT    NOT NULL,
	issued_before INTEGER NOT NULL DEFAULT 0,
	expires       INTEGER NOT NULL,
	made_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX revocations_expires ON revocations (expires);
