package token

// Token types, the value of the "type" claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
	// TypeDevice is a device token: "device D has logged into user U",
	// which earns the device a login-failure budget of its own. It grants
	// no access.
	TypeDevice = "device"
)

// JOSE typ header values of the token types.
const (
	typAccess  = "at+jwt"
	typRefresh = "rt+jwt"
	typDevice  = "dt+jwt"
)

// Claims are the claims of an authmesh access or refresh token
// (docs/API.md, Tokens).
// Times are unix seconds.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"` // user id
	Audience  []string `json:"aud,omitempty"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	SessionID string   `json:"sid,omitempty"` // device session id; user tokens only
	Type      string   `json:"type"`
	// ClientID is the OAuth 2.0 client a service token was issued to
	// (RFC 9068 client_id); set on service tokens only, whose sub is the
	// same id and which have no sid.
	ClientID string `json:"client_id,omitempty"`
	// Scope is the space-separated list of scopes granted (RFC 9068).
	Scope string `json:"scope,omitempty"`
	// Generation counts the refreshes of a device session; refresh tokens only.
	Generation int64 `json:"gen,omitempty"`
	// EmailVerified (email_verified, as in OpenID Connect) is true on an
	// access token of a user whose address is verified; absent means false.
	EmailVerified bool `json:"email_verified,omitempty"`
}

// UnmarshalJSON decodes claims, accepting aud as a string or an array and
// NumericDate values with a fraction (truncated). Member names match
// exactly; a repeated member is an error.
func (c *Claims) UnmarshalJSON(b []byte) error {
	parsed, err := parseClaims(b)
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// parseClaims reads a claims object; unknown members are skipped and null
// counts as absent.
func parseClaims(data []byte) (Claims, error) {
	var c Claims
	err := scanObject(data, func(name []byte, v jsonValue) error {
		if v.kind == jsonNull {
			return nil
		}
		var err error
		switch string(name) {
		case "iss":
			c.Issuer, err = v.str()
		case "sub":
			c.Subject, err = v.str()
		case "aud":
			c.Audience, err = v.strings()
		case "exp":
			c.ExpiresAt, err = v.numericDate()
		case "nbf":
			c.NotBefore, err = v.numericDate()
		case "iat":
			c.IssuedAt, err = v.numericDate()
		case "jti":
			c.ID, err = v.str()
		case "sid":
			c.SessionID, err = v.str()
		case "type":
			c.Type, err = v.str()
		case "gen":
			c.Generation, err = v.integer()
		case "client_id":
			c.ClientID, err = v.str()
		case "scope":
			c.Scope, err = v.str()
		case "email_verified":
			c.EmailVerified, err = v.boolean()
		}
		return err
	})
	if err != nil {
		return Claims{}, err
	}
	return c, nil
}
