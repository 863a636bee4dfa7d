package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/token"
)

// ServiceClient is a service's own identity (OAuth 2.0 client credentials,
// RFC 6749 §4.4): what it may ask tokens for, and its secret's hash.
type ServiceClient struct {
	ID string
	// SecretHash is the hex SHA-256 of the secret. The secret is 256
	// random bits, so a fast hash is as strong as a slow one: there is no
	// dictionary to try.
	SecretHash string
	Audiences  []string // services it may get tokens for
	Scopes     []string // scopes it may be granted
	Disabled   bool
	CreatedAt  time.Time
	// TokensValidAfter is the unix second before which the client's tokens
	// are void (set when it is disabled or its secret rotated).
	TokensValidAfter int64
}

// ServiceClients stores service clients; *store.DB implements it. Lookups
// and updates of an unknown id return an error wrapping ErrNotFound.
type ServiceClients interface {
	// CreateClient stores c; an id already taken yields ErrClientExists.
	CreateClient(ctx context.Context, c ServiceClient) error
	ClientByID(ctx context.Context, id string) (ServiceClient, error)
	// ListClients returns every client, by id.
	ListClients(ctx context.Context) ([]ServiceClient, error)
	// UpdateClient sets the client's disabled flag, secret hash and
	// cut-off.
	UpdateClient(ctx context.Context, id string, disabled bool, secretHash string, tokensValidAfter int64) error
	DeleteClient(ctx context.Context, id string) error
}

// ServiceIssuer signs service tokens; *token.Issuer implements it.
type ServiceIssuer interface {
	IssueService(clientID string, audience, scopes []string, issuedAt time.Time) (string, token.Claims, error)
}

// Errors of the client credentials grant, named after the RFC 6749 §5.2
// (and RFC 8707) error codes the token endpoint answers with.
var (
	// ErrClientExists: CreateClient with an id already taken.
	ErrClientExists = errors.New("auth: client id already taken")
	// ErrInvalidClient: unknown client, wrong secret, or disabled.
	ErrInvalidClient = errors.New("auth: client authentication failed")
	// ErrInvalidScope: a scope the client may not be granted.
	ErrInvalidScope = errors.New("auth: requested scope is not allowed for this client")
	// ErrInvalidTarget: an audience the client may not get tokens for,
	// or none when it has several.
	ErrInvalidTarget = errors.New("auth: requested audience is not allowed for this client")
	// ErrInvalidClientSpec: a client id, audience or scope that is not
	// well formed (operator input).
	ErrInvalidClientSpec = errors.New("auth: invalid service client")
)

// ClientsConfig configures Clients.
type ClientsConfig struct {
	Store   ServiceClients
	Revoker Revoker
	Issuer  ServiceIssuer
	// AccessTokenTTL is the lifetime of the tokens issued (default
	// token.DefaultAccessTokenTTL); ClockSkew is added to revocation
	// lifetimes (default token.DefaultClockSkew).
	AccessTokenTTL time.Duration
	ClockSkew      time.Duration
	Logger         *slog.Logger     // default slog.Default()
	Clock          func() time.Time // default time.Now
}

// Clients manages service clients and issues their tokens. Disabling,
// rotating or deleting a client revokes its outstanding tokens through the
// same revocation path as a logout everywhere: a cut-off on its id, which
// its tokens carry as sub. It is safe for concurrent use.
type Clients struct{ cfg ClientsConfig }

// NewClients validates cfg and fills its defaults.
func NewClients(cfg ClientsConfig) (*Clients, error) {
	if cfg.Store == nil || cfg.Revoker == nil || cfg.Issuer == nil {
		return nil, errors.New("auth: ClientsConfig.Store, Revoker and Issuer are required")
	}
	cfg.AccessTokenTTL = cmp.Or(cfg.AccessTokenTTL, token.DefaultAccessTokenTTL)
	cfg.ClockSkew = cmp.Or(cfg.ClockSkew, token.DefaultClockSkew)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Clients{cfg: cfg}, nil
}

// clientIDPattern: no ':' (HTTP Basic), no spaces, short.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// scopePattern is a scope token of RFC 6749 §3.3 (printable ASCII but
// space, '"' and '\').
var scopePattern = regexp.MustCompile(`^[!#-\[\]-~]{1,128}$`)

// checkSpec validates an operator's client definition. An id may not be a
// UUID: user ids are, and revocations by subject must name one or the
// other.
func checkSpec(id string, audiences, scopes []string) error {
	if !clientIDPattern.MatchString(id) {
		return fmt.Errorf("%w: client id %q must be 1-128 letters, digits, '.', '_' or '-'", ErrInvalidClientSpec, id)
	}
	if _, err := uuid.Parse(id); err == nil {
		return fmt.Errorf("%w: client id %q must not be a UUID (user ids are)", ErrInvalidClientSpec, id)
	}
	if len(audiences) == 0 {
		return fmt.Errorf("%w: at least one audience is required", ErrInvalidClientSpec)
	}
	for _, s := range slices.Concat(audiences, scopes) {
		if !scopePattern.MatchString(s) {
			return fmt.Errorf("%w: %q is not a valid audience or scope (no spaces, quotes or backslashes)", ErrInvalidClientSpec, s)
		}
	}
	return nil
}

// newSecret returns a fresh secret (256 bits, base32) and its hash.
func newSecret() (secret, hash string) {
	secret = rand.Text() + rand.Text()
	return secret, hashSecret(secret)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Create registers a client allowed the given audiences and scopes and
// returns its secret, which is not stored and cannot be shown again.
func (c *Clients) Create(ctx context.Context, id string, audiences, scopes []string) (secret string, err error) {
	if err := checkSpec(id, audiences, scopes); err != nil {
		return "", err
	}
	secret, hash := newSecret()
	err = c.cfg.Store.CreateClient(ctx, ServiceClient{
		ID: id, SecretHash: hash, Audiences: slices.Clone(audiences), Scopes: slices.Clone(scopes),
		CreatedAt: c.cfg.Clock(),
	})
	if err != nil {
		return "", fmt.Errorf("auth: create client %s: %w", id, err)
	}
	c.cfg.Logger.Info("service client created", "client_id", id, "audiences", audiences, "scopes", scopes)
	return secret, nil
}

// List returns every client (secret hashes included: for operators only).
func (c *Clients) List(ctx context.Context) ([]ServiceClient, error) {
	return c.cfg.Store.ListClients(ctx)
}

// Disable stops the client getting tokens and revokes those it has.
func (c *Clients) Disable(ctx context.Context, id string) error {
	cl, err := c.cfg.Store.ClientByID(ctx, id)
	if err != nil {
		return fmt.Errorf("auth: disable client %s: %w", id, err)
	}
	before, err := c.revoke(ctx, id)
	if err != nil {
		return err
	}
	return c.update(ctx, "disable", id, true, cl.SecretHash, before)
}

// Enable lets a disabled client get tokens again; the tokens it had stay
// revoked.
func (c *Clients) Enable(ctx context.Context, id string) error {
	cl, err := c.cfg.Store.ClientByID(ctx, id)
	if err != nil {
		return fmt.Errorf("auth: enable client %s: %w", id, err)
	}
	return c.update(ctx, "enable", id, false, cl.SecretHash, cl.TokensValidAfter)
}

// Rotate gives the client a new secret, returned once, and revokes the
// tokens it got with the old one.
func (c *Clients) Rotate(ctx context.Context, id string) (secret string, err error) {
	cl, err := c.cfg.Store.ClientByID(ctx, id)
	if err != nil {
		return "", fmt.Errorf("auth: rotate client %s: %w", id, err)
	}
	before, err := c.revoke(ctx, id)
	if err != nil {
		return "", err
	}
	secret, hash := newSecret()
	if err := c.update(ctx, "rotate", id, cl.Disabled, hash, before); err != nil {
		return "", err
	}
	return secret, nil
}

// Delete revokes the client's tokens and forgets it.
func (c *Clients) Delete(ctx context.Context, id string) error {
	if _, err := c.cfg.Store.ClientByID(ctx, id); err != nil {
		return fmt.Errorf("auth: delete client %s: %w", id, err)
	}
	if _, err := c.revoke(ctx, id); err != nil {
		return err
	}
	if err := c.cfg.Store.DeleteClient(ctx, id); err != nil {
		return fmt.Errorf("auth: delete client %s: %w", id, err)
	}
	c.cfg.Logger.Info("service client deleted", "client_id", id)
	return nil
}

// revoke records a cut-off on the client's id (its tokens' sub), before
// the database changes, as every revocation here: if recording fails
// nothing changed and a retry works. It returns the cut-off.
func (c *Clients) revoke(ctx context.Context, id string) (int64, error) {
	now := c.cfg.Clock()
	before := now.Unix() + 1 // tokens carry whole seconds, as in LogoutAll
	_, err := c.cfg.Revoker.Revoke(ctx, revoke.Entry{
		Kind: revoke.KindUser, ID: id, Before: before,
		Expires: now.Add(c.cfg.AccessTokenTTL + 2*c.cfg.ClockSkew).Unix(), At: now.Unix(),
	})
	if err != nil {
		return 0, fmt.Errorf("auth: revoke the tokens of client %s: %w", id, err)
	}
	return before, nil
}

func (c *Clients) update(ctx context.Context, op, id string, disabled bool, hash string, validAfter int64) error {
	if err := c.cfg.Store.UpdateClient(ctx, id, disabled, hash, validAfter); err != nil {
		return fmt.Errorf("auth: %s client %s: %w", op, id, err)
	}
	c.cfg.Logger.Info("service client "+op+"d", "client_id", id)
	return nil
}

// Grant is an issued service token (RFC 6749 §5.1).
type Grant struct {
	AccessToken string
	ExpiresIn   time.Duration
	Scope       string // the scopes granted, space-separated
}

// Token authenticates a client by id and secret and issues it a token for
// audience ("" when it has exactly one) with the requested scopes (none:
// all it is allowed). Errors: ErrInvalidClient, ErrInvalidTarget,
// ErrInvalidScope; anything else is internal.
func (c *Clients) Token(ctx context.Context, id, secret, audience string, scopes []string) (Grant, error) {
	cl, err := c.cfg.Store.ClientByID(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Grant{}, ErrInvalidClient
	case err != nil:
		return Grant{}, fmt.Errorf("auth: client token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(cl.SecretHash)) != 1 || cl.Disabled {
		return Grant{}, ErrInvalidClient
	}
	switch {
	case audience == "" && len(cl.Audiences) == 1:
		audience = cl.Audiences[0]
	case audience == "":
		return Grant{}, fmt.Errorf("%w: name one of its audiences", ErrInvalidTarget)
	case !slices.Contains(cl.Audiences, audience):
		return Grant{}, ErrInvalidTarget
	}
	if len(scopes) == 0 {
		scopes = cl.Scopes
	}
	for _, s := range scopes {
		if !slices.Contains(cl.Scopes, s) {
			return Grant{}, ErrInvalidScope
		}
	}
	now := c.cfg.Clock()
	issuedAt := now
	if after := time.Unix(cl.TokensValidAfter, 0); after.After(now) {
		issuedAt = after // a cut-off made this second must not cover it
	}
	raw, claims, err := c.cfg.Issuer.IssueService(id, []string{audience}, scopes, issuedAt)
	if err != nil {
		return Grant{}, fmt.Errorf("auth: issue client token: %w", err)
	}
	return Grant{AccessToken: raw, ExpiresIn: time.Unix(claims.ExpiresAt, 0).Sub(now), Scope: strings.Join(scopes, " ")}, nil
}
