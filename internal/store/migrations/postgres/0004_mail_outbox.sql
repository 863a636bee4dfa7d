-- Outgoing mail (internal/mail): a row is written in the transaction of the
-- change that causes the message, and the outbox sender delivers it with
-- retries. Claiming a row moves next_attempt_at one lease ahead, so no other
-- replica takes it while it is being sent. data (the message, which may
-- carry a single-use token) is emptied once the row is sent or failed.
-- Times are microseconds since the Unix epoch.

CREATE TABLE mail_outbox (
	id              BIGSERIAL PRIMARY KEY,
	message_id      TEXT    NOT NULL UNIQUE,
	sender          TEXT    NOT NULL,
	recipient       TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	data            BYTEA   NOT NULL,
	created_at      BIGINT  NOT NULL,
	next_attempt_at BIGINT  NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	state           TEXT    NOT NULL DEFAULT 'pending',
	done_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'pending';
