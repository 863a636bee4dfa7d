package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// The store keeps the auth service's service clients.
var _ auth.ServiceClients = (*DB)(nil)

const clientColumns = "id, secret_hash, audiences, scopes, disabled, created_at, tokens_valid_after"

// CreateClient stores c; an id already taken yields auth.ErrClientExists.
// Audiences and scopes are stored space-separated (they contain no spaces).
func (db *DB) CreateClient(ctx context.Context, c auth.ServiceClient) error {
	if c.ID == "" || c.SecretHash == "" {
		return errors.New("store: create client: id and secret hash are required")
	}
	_, err := db.exec(ctx, "INSERT INTO service_clients ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.SecretHash, strings.Join(c.Audiences, " "), strings.Join(c.Scopes, " "), boolInt(c.Disabled),
		c.CreatedAt.UnixMicro(), c.TokensValidAfter)
	switch {
	case isUniqueViolation(err):
		return auth.ErrClientExists
	case err != nil:
		return fmt.Errorf("store: create client: %w", err)
	}
	return nil
}

// ClientByID returns the client, or ErrNotFound.
func (db *DB) ClientByID(ctx context.Context, id string) (auth.ServiceClient, error) {
	c, err := scanClient(db.queryRow(ctx, "SELECT "+clientColumns+" FROM service_clients WHERE id = ?", id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.ServiceClient{}, ErrNotFound
	case err != nil:
		return auth.ServiceClient{}, fmt.Errorf("store: client by id: %w", err)
	}
	return c, nil
}

// ListClients returns every client, by id.
func (db *DB) ListClients(ctx context.Context) ([]auth.ServiceClient, error) {
	rows, err := db.query(ctx, "SELECT "+clientColumns+" FROM service_clients ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list clients: %w", err)
	}
	defer rows.Close()
	var out []auth.ServiceClient
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list clients: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list clients: %w", err)
	}
	return out, nil
}

// UpdateClient sets the client's disabled flag, secret hash and cut-off;
// ErrNotFound for an unknown id.
func (db *DB) UpdateClient(ctx context.Context, id string, disabled bool, secretHash string, tokensValidAfter int64) error {
	return db.updateUser(ctx, "update client",
		"UPDATE service_clients SET disabled = ?, secret_hash = ?, tokens_valid_after = ? WHERE id = ?",
		boolInt(disabled), secretHash, tokensValidAfter, id)
}

// DeleteClient forgets the client; ErrNotFound for an unknown id.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	return db.updateUser(ctx, "delete client", "DELETE FROM service_clients WHERE id = ?", id)
}

func scanClient(r interface{ Scan(...any) error }) (auth.ServiceClient, error) {
	var (
		c                 auth.ServiceClient
		audiences, scopes string
		disabled          int64
		created           int64
	)
	if err := r.Scan(&c.ID, &c.SecretHash, &audiences, &scopes, &disabled, &created, &c.TokensValidAfter); err != nil {
		return auth.ServiceClient{}, err
	}
	c.Audiences, c.Scopes = strings.Fields(audiences), strings.Fields(scopes)
	c.Disabled = disabled != 0
	c.CreatedAt = time.UnixMicro(created).UTC()
	return c, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
