-- The protocol version each revocation was written in (revoke.ProtocolVersion),
-- so a newer auth service's entries are served as such, never misread.
ALTER TABLE revocations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
