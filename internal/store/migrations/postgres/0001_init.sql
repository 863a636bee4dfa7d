-- Users, device sessions, signing keys and the revocation journal.
-- Times are microseconds since the Unix epoch; NULL means "never".

CREATE TABLE users (
	id                 TEXT   PRIMARY KEY,
	email              TEXT   NOT NULL UNIQUE,
	password_hash      TEXT   NOT NULL,
	created_at         BIGINT NOT NULL,
	last_login_at      BIGINT,
	tokens_valid_after BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
	id           TEXT   PRIMARY KEY,
	user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_type  TEXT   NOT NULL DEFAULT '',
	device_name  TEXT   NOT NULL DEFAULT '',
	ip_address   TEXT   NOT NULL DEFAULT '',
	user_agent   TEXT   NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	refresh_gen  BIGINT NOT NULL DEFAULT 0,
	rotated_at   BIGINT,
	revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

CREATE TABLE signing_keys (
	id            TEXT    PRIMARY KEY,
	algorithm     TEXT    NOT NULL,
	private_key   BYTEA   NOT NULL,
	sealed        BOOLEAN NOT NULL DEFAULT FALSE,
	public_key    BYTEA   NOT NULL,
	created_at    BIGINT,
	sign_from     BIGINT,
	sign_until    BIGINT,
	publish_until BIGINT
);

-- A sequence never hands out a seq twice, so a consumer's cursor stays
-- meaningful after pruning.
-- issued_before, expires and made_at are unix seconds, as in revoke.Entry.
CREATE TABLE revocations (
	seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind          TEXT   NOT NULL,
	subject       TEXT   NOT NULL,
	issued_before BIGINT NOT NULL DEFAULT 0,
	expires       BIGINT NOT NULL,
	made_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX revocations_expires ON revocations (expires);
