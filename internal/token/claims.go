package token

// Token types, the value of the "type" claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
)

// JOSE typ header values of the two token types.
const (
	typAccess  = "at+jwt"
	typRefresh = "rt+jwt"
)

// Claims are the claims of an authmesh access or refresh token (DESIGN §5).
// Times are unix seconds.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"` // user id
	Audience  []string `json:"aud,omitempty"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	SessionID string   `json:"sid"` // device session id
	Type      string   `json:"type"`
	// Generation counts the refreshes of a device session; refresh tokens only.
	Generation int64 `json:"gen,omitempty"`
}

// UnmarshalJSON decodes claims, accepting aud as a string or an array and
// NumericDate values with a fraction (truncated). Member names match
// exactly; a repeated known member is an error.
func (c *Claims) UnmarshalJSON(b []byte) error {
	parsed, err := parseClaims(b)
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// claimBit numbers the known claims for duplicate detection.
var claimBit = map[string]uint16{
	"iss": 1 << 0, "sub": 1 << 1, "aud": 1 << 2, "exp": 1 << 3, "nbf": 1 << 4,
	"iat": 1 << 5, "jti": 1 << 6, "sid": 1 << 7, "type": 1 << 8, "gen": 1 << 9,
}

// parseClaims reads a claims object; unknown members are skipped and null
// counts as absent.
func parseClaims(data []byte) (Claims, error) {
	var c Claims
	var seen uint16
	err := scanObject(data, func(key []byte, keyEsc bool, v jsonValue) error {
		name, err := memberName(key, keyEsc)
		if err != nil {
			return err
		}
		bit, known := claimBit[string(name)]
		if !known {
			return nil
		}
		if seen&bit != 0 {
			return errJSON
		}
		seen |= bit
		if v.kind == jsonNull {
			return nil
		}
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
		}
		return err
	})
	if err != nil {
		return Claims{}, err
	}
	return c, nil
}

// memberName returns a member name, unescaped if needed. Callers compare
// it with string(name), which does not allocate.
func memberName(key []byte, escaped bool) ([]byte, error) {
	if !escaped {
		return key, nil
	}
	s, err := unescape(key)
	return []byte(s), err
}
