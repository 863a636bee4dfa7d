package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

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
// NumericDate values with a fractional part (truncated).
func (c *Claims) UnmarshalJSON(b []byte) error {
	var w wireClaims
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = w.claims()
	return nil
}

// wireClaims is the lenient decoding form of Claims.
type wireClaims struct {
	Issuer     string      `json:"iss"`
	Subject    string      `json:"sub"`
	Audience   audience    `json:"aud"`
	ExpiresAt  numericDate `json:"exp"`
	NotBefore  numericDate `json:"nbf"`
	IssuedAt   numericDate `json:"iat"`
	ID         string      `json:"jti"`
	SessionID  string      `json:"sid"`
	Type       string      `json:"type"`
	Generation int64       `json:"gen"`
}

func (w *wireClaims) claims() Claims {
	return Claims{
		Issuer:     w.Issuer,
		Subject:    w.Subject,
		Audience:   []string(w.Audience),
		ExpiresAt:  int64(w.ExpiresAt),
		NotBefore:  int64(w.NotBefore),
		IssuedAt:   int64(w.IssuedAt),
		ID:         w.ID,
		SessionID:  w.SessionID,
		Type:       w.Type,
		Generation: w.Generation,
	}
}

// audience is the aud claim: a single string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// numericDate is a JSON NumericDate: seconds, possibly with a fraction.
type numericDate int64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	// encoding/json has already checked that b is one valid JSON value.
	if string(b) == "null" {
		*d = 0
		return nil
	}
	if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*d = numericDate(i)
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return fmt.Errorf("token: NumericDate is not a number: %.20q", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f > math.MaxInt64/2 || f < math.MinInt64/2 {
		return fmt.Errorf("token: NumericDate out of range: %.20q", b)
	}
	*d = numericDate(math.Trunc(f))
	return nil
}
