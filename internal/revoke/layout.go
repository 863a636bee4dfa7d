package revoke

import (
	"errors"
	"fmt"
)

// Layout is the marker the auth service writes beside the revocation state
// (in Redis, the hash <prefix>{revocations}:layout; in a feed snapshot, its
// "layout" member). A validator that finds no marker is pointed at a prefix
// or database no auth service writes, or at a Redis that lost its data; it
// is not Ready until the marker is there.
type Layout struct {
	// V is the protocol version of the layout (ProtocolVersion).
	V int `json:"v"`
	// Epoch names one continuous life of the state: it changes whenever the
	// auth service re-seeds Redis after data loss. A validator synced
	// against another epoch loads a fresh snapshot. Empty in the journal.
	Epoch string `json:"epoch,omitempty"`
	// Issuer and Audience are the auth service's ISSUER and AUDIENCE, so a
	// validator configured otherwise reports the mismatch at start-up.
	Issuer   string `json:"issuer,omitempty"`
	Audience string `json:"audience,omitempty"`
}

// Check reports what keeps a validator expecting issuer and audience
// (empty: no expectation) from trusting state under this layout: an error
// wrapping ErrUnsupported or ErrLayoutMismatch, or nil.
func (l Layout) Check(issuer, audience string) error {
	switch {
	case l.V > ProtocolVersion:
		return fmt.Errorf("%w: layout of protocol version %d (this version speaks %d); upgrade this service", ErrUnsupported, l.V, ProtocolVersion)
	case issuer != "" && l.Issuer != "" && l.Issuer != issuer:
		return fmt.Errorf("%w: the auth service issues tokens as %q, this service expects issuer %q (set ISSUER alike on both)", ErrLayoutMismatch, l.Issuer, issuer)
	case audience != "" && l.Audience != audience:
		return fmt.Errorf("%w: the auth service issues tokens for audience %q, this service expects %q (set AUDIENCE alike on both)", ErrLayoutMismatch, l.Audience, audience)
	}
	return nil
}

// ErrLayoutMismatch is returned when the auth service's layout marker
// names another issuer or audience than the validator expects.
var ErrLayoutMismatch = errors.New("revoke: auth service configuration mismatch")
