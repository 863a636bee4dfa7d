-- Service clients (OAuth 2.0 client credentials): a service's own identity.
-- secret_hash is the SHA-256 of the secret, which is 256 random bits shown
-- once at creation or rotation; tokens_valid_after is the unix second
-- before which the client's tokens are void (set by disable and rotate),
-- as for users. Times are microseconds, tokens_valid_after seconds.
CREATE TABLE service_clients (
    id                 TEXT PRIMARY KEY,
    secret_hash        TEXT NOT NULL,
    audiences          TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    disabled           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    tokens_valid_after INTEGER NOT NULL DEFAULT 0
);
