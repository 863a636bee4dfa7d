// Package adminwire is the admin API's JSON: the shapes the admin handler
// (internal/admin) writes and reads, and the authmesh CLI decodes and
// sends. Both sides use these types, so the CLI cannot drift from the API.
package adminwire

import "time"

// User is an account.
type User struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	Disabled    bool       `json:"disabled"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
}

// Session is a device session.
type Session struct {
	ID         string    `json:"id"`
	DeviceType string    `json:"device_type"`
	DeviceName string    `json:"device_name"`
	IPAddress  string    `json:"ip_address"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Key is a signing key (no private material).
type Key struct {
	KeyID        string    `json:"kid"`
	Algorithm    string    `json:"alg"`
	CreatedAt    time.Time `json:"created_at"`
	SignFrom     time.Time `json:"sign_from"`
	SignUntil    time.Time `json:"sign_until"`
	PublishUntil time.Time `json:"publish_until"`
	Signing      bool      `json:"signing"` // the key signs new tokens now
}

// Event is a security event of the audit trail.
type Event struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// Client is a service client, never with its secret's hash. Secret is set
// only in the answer that created or rotated it, the one time it is shown.
type Client struct {
	ID        string    `json:"id"`
	Audiences []string  `json:"audiences"`
	Scopes    []string  `json:"scopes"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	Secret    string    `json:"client_secret,omitempty"`
}

// CreateClient is the body of POST /admin/v1/clients.
type CreateClient struct {
	ID        string   `json:"id"`
	Audiences []string `json:"audiences"`
	Scopes    []string `json:"scopes"`
}
