-- When an operator disabled the account (admin API): NULL = enabled. A
-- disabled account cannot log in or refresh, and its tokens are revoked.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
