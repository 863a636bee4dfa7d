package token

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// Issuer defaults. They are the one definition of these defaults: the auth
// service's configuration, the session validator and docs/CONFIGURATION.md
// (checked by a test) all use them.
const (
	DefaultIssuer          = "authentication-service"
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 360 * time.Hour
)

// maxIssueSkew is how far in the future a caller may date a token's iat.
const maxIssueSkew = time.Second

// maxIDLen bounds user and session ids put into tokens.
const maxIDLen = 256

// IssuerConfig configures an Issuer. Zero values are defaults.
type IssuerConfig struct {
	// Issuer is the iss claim (default "authentication-service").
	Issuer string
	// Audience is the aud claim; omitted when empty.
	Audience []string
	// AccessTokenTTL is the lifetime of access tokens (default 15m).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the default lifetime of refresh tokens (default 360h);
	// IssueRefresh takes the actual expiry from its caller.
	RefreshTokenTTL time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Issuer signs access and refresh tokens with the keys of a Signer.
// Safe for concurrent use.
type Issuer struct {
	signer Signer
	cfg    IssuerConfig
}

// NewIssuer returns an Issuer signing with signer.
func NewIssuer(signer Signer, cfg IssuerConfig) (*Issuer, error) {
	if signer == nil {
		return nil, errorf(ErrInvalidConfig, "issuer needs a Signer")
	}
	cfg.Issuer = cmp.Or(cfg.Issuer, DefaultIssuer)
	cfg.AccessTokenTTL = cmp.Or(cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	cfg.RefreshTokenTTL = cmp.Or(cfg.RefreshTokenTTL, DefaultRefreshTokenTTL)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.AccessTokenTTL < 0 || cfg.RefreshTokenTTL < 0 {
		return nil, errorf(ErrInvalidConfig, "negative token TTL")
	}
	cfg.Audience = slices.Clone(cfg.Audience)
	return &Issuer{signer: signer, cfg: cfg}, nil
}

// AccessTokenTTL is the lifetime of the access tokens this Issuer signs.
func (i *Issuer) AccessTokenTTL() time.Duration { return i.cfg.AccessTokenTTL }

// RefreshTokenTTL is the configured refresh token lifetime.
func (i *Issuer) RefreshTokenTTL() time.Duration { return i.cfg.RefreshTokenTTL }

// IssueAccess signs an access token for userID in device session sessionID.
// iat is issuedAt (zero means now; at most 1s in the future), nbf is now,
// exp is now + AccessTokenTTL and jti is 128 random bits.
func (i *Issuer) IssueAccess(userID, sessionID string, issuedAt time.Time) (string, Claims, error) {
	return i.IssueUserAccess(userID, sessionID, issuedAt, false)
}

// IssueUserAccess is IssueAccess with the user's facts the token states:
// emailVerified is the email_verified claim.
func (i *Issuer) IssueUserAccess(userID, sessionID string, issuedAt time.Time, emailVerified bool) (string, Claims, error) {
	now := i.cfg.Clock()
	if issuedAt.IsZero() {
		issuedAt = now
	}
	if err := checkIDs(userID, sessionID); err != nil {
		return "", Claims{}, err
	}
	if issuedAt.After(now.Add(maxIssueSkew)) {
		return "", Claims{}, errorf(ErrInvalidInput, "issuedAt %v is in the future", issuedAt)
	}
	c := Claims{
		Issuer: i.cfg.Issuer, Subject: userID, Audience: slices.Clone(i.cfg.Audience),
		ExpiresAt: now.Add(i.cfg.AccessTokenTTL).Unix(), NotBefore: now.Unix(), IssuedAt: issuedAt.Unix(),
		ID: rand.Text(), SessionID: sessionID, Type: TypeAccess, EmailVerified: emailVerified,
	}
	raw, err := i.sign(c, typAccess)
	return raw, c, err
}

// IssueRefresh signs refresh token generation gen of device session
// sessionID. It is deterministic: jti is sessionID + "." + gen, iat and nbf
// are issuedAt, exp is expiresAt, and every supported algorithm signs
// deterministically, so the same arguments give the same token string while
// the signing key is unchanged. No refresh token needs to be stored.
func (i *Issuer) IssueRefresh(userID, sessionID string, gen int64, issuedAt, expiresAt time.Time) (string, Claims, error) {
	if err := checkIDs(userID, sessionID); err != nil {
		return "", Claims{}, err
	}
	if gen < 0 {
		return "", Claims{}, errorf(ErrInvalidInput, "negative refresh generation")
	}
	c, err := i.dated("refresh", userID, issuedAt, expiresAt)
	if err != nil {
		return "", Claims{}, err
	}
	c.ID, c.SessionID, c.Type, c.Generation = sessionID+"."+strconv.FormatInt(gen, 10), sessionID, TypeRefresh, gen
	raw, err := i.sign(c, typRefresh)
	return raw, c, err
}

// IssueDevice signs a device token: device deviceID has logged into user
// userID. Its jti and sid are deviceID; iat and nbf are issuedAt, exp is
// expiresAt. It grants no access (its type is TypeDevice): the auth service
// uses it only to give a device the account knows a login-failure budget
// of its own.
func (i *Issuer) IssueDevice(userID, deviceID string, issuedAt, expiresAt time.Time) (string, Claims, error) {
	if err := checkIDs(userID, deviceID); err != nil {
		return "", Claims{}, err
	}
	c, err := i.dated("device", userID, issuedAt, expiresAt)
	if err != nil {
		return "", Claims{}, err
	}
	c.ID, c.SessionID, c.Type = deviceID, deviceID, TypeDevice
	raw, err := i.sign(c, typDevice)
	return raw, c, err
}

// dated returns the claims of a kind token for userID that its caller
// dates: iat and nbf are issuedAt (at most 1s in the future), exp is
// expiresAt, after it.
func (i *Issuer) dated(kind, userID string, issuedAt, expiresAt time.Time) (Claims, error) {
	switch {
	case issuedAt.IsZero() || !expiresAt.After(issuedAt):
		return Claims{}, errorf(ErrInvalidInput, "%s token must expire after it is issued", kind)
	case issuedAt.After(i.cfg.Clock().Add(maxIssueSkew)):
		return Claims{}, errorf(ErrInvalidInput, "issuedAt %v is in the future", issuedAt)
	}
	return Claims{
		Issuer: i.cfg.Issuer, Subject: userID, Audience: slices.Clone(i.cfg.Audience),
		ExpiresAt: expiresAt.Unix(), NotBefore: issuedAt.Unix(), IssuedAt: issuedAt.Unix(),
	}, nil
}

func checkIDs(userID, sessionID string) error {
	if userID == "" || sessionID == "" || len(userID) > maxIDLen || len(sessionID) > maxIDLen {
		return errorf(ErrInvalidInput, "user and session ids must be 1..%d bytes", maxIDLen)
	}
	return nil
}

// jwsHeader is the protected header of tokens this package signs.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ"`
}

// sign returns the compact JWS of c with the current signing key.
func (i *Issuer) sign(c Claims, typ string) (string, error) {
	key, err := i.signer.SigningKey()
	if err != nil {
		return "", err
	}
	header, err := json.Marshal(jwsHeader{Alg: key.Algorithm(), Kid: key.KeyID(), Typ: typ})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, b64.EncodedLen(len(header))+b64.EncodedLen(len(payload))+2+b64.EncodedLen(512))
	buf = b64.AppendEncode(buf, header)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	sig, err := key.Sign(buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}
