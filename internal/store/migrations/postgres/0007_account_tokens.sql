-- Account lifecycle (issue 14): a verified email address, and the
-- single-use tokens that the verification, password reset and email change
-- links carry. Only a token's SHA-256 (hex) is stored, never the token.
-- A token is spent (used_at set) when consumed, when a newer one of the
-- same user and purpose is issued, or when the password changes.
-- purpose is 'verify_email', 'reset_password', 'change_email' (new_email
-- set) or 'register': a registration pending on an address an unverified
-- account holds (new_email and password_hash set; user_id is that holder,
-- replaced when the link is consumed). Times are microseconds since the
-- Unix epoch; NULL means "never".

ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

CREATE TABLE account_tokens (
	id            TEXT   PRIMARY KEY,
	user_id       TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose       TEXT   NOT NULL,
	token_hash    TEXT   NOT NULL UNIQUE,
	new_email     TEXT,
	password_hash TEXT,
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	used_at       BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
