package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/authmesh/authmesh/internal/token/keyring"
)

const keyColumns = "id, algorithm, private_key, sealed, public_key, created_at, sign_from, sign_until, publish_until"

// Keys returns every stored signing key, oldest first.
func (db *DB) Keys(ctx context.Context) ([]keyring.KeyRecord, error) {
	rows, err := db.query(ctx, "SELECT "+keyColumns+" FROM signing_keys ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("store: keys: %w", err)
	}
	defer rows.Close()
	var out []keyring.KeyRecord
	for rows.Next() {
		var (
			k                                 keyring.KeyRecord
			created, from, until, publishTill sql.NullInt64
		)
		if err := rows.Scan(&k.KeyID, &k.Algorithm, &k.Private, &k.Sealed, &k.Public, &created, &from, &until, &publishTill); err != nil {
			return nil, fmt.Errorf("store: keys: %w", err)
		}
		k.CreatedAt, k.SignFrom, k.SignUntil, k.PublishUntil = fromMicros(created), fromMicros(from), fromMicros(until), fromMicros(publishTill)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: keys: %w", err)
	}
	return out, nil
}

// PutKey inserts k, or replaces every field of the stored key with the
// same KeyID.
func (db *DB) PutKey(ctx context.Context, k keyring.KeyRecord) error {
	if k.KeyID == "" || k.Algorithm == "" || len(k.Public) == 0 {
		return errors.New("store: put key: id, algorithm and public key are required")
	}
	private := k.Private
	if private == nil {
		private = []byte{} // NOT NULL column; a public-only record stores empty bytes
	}
	_, err := db.exec(ctx, "INSERT INTO signing_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, private_key = excluded.private_key,"+
		" sealed = excluded.sealed, public_key = excluded.public_key, created_at = excluded.created_at,"+
		" sign_from = excluded.sign_from, sign_until = excluded.sign_until, publish_until = excluded.publish_until",
		k.KeyID, k.Algorithm, private, k.Sealed, k.Public,
		micros(k.CreatedAt), micros(k.SignFrom), micros(k.SignUntil), micros(k.PublishUntil))
	if err != nil {
		return fmt.Errorf("store: put key %q: %w", k.KeyID, err)
	}
	return nil
}

// UpdateKey stores k's signing and publication times for the key with its
// KeyID (a withdrawn key). Updating an unknown key is an error.
func (db *DB) UpdateKey(ctx context.Context, k keyring.KeyRecord) error {
	res, err := db.exec(ctx, "UPDATE signing_keys SET sign_from = ?, sign_until = ?, publish_until = ? WHERE id = ?",
		micros(k.SignFrom), micros(k.SignUntil), micros(k.PublishUntil), k.KeyID)
	if err != nil {
		return fmt.Errorf("store: update key %q: %w", k.KeyID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: update key %q: %w", k.KeyID, ErrNotFound)
	}
	return nil
}

// DeleteKey removes the key kid. Deleting an unknown key is not an
// error, so replicas retiring the same key do not trip over each other.
func (db *DB) DeleteKey(ctx context.Context, kid string) error {
	if _, err := db.exec(ctx, "DELETE FROM signing_keys WHERE id = ?", kid); err != nil {
		return fmt.Errorf("store: delete key %q: %w", kid, err)
	}
	return nil
}
