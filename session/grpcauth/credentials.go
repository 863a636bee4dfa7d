package grpcauth

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/credentials"
)

// ErrInsecureTransport is returned when Credentials would send a token over
// a connection without transport security and AllowInsecure is not set.
var ErrInsecureTransport = errors.New("grpcauth: refusing to send an access token over an insecure transport (use TLS, or set Credentials.AllowInsecure for a network you control)")

// Credentials attach "authorization: Bearer <token>" to every call of a
// client connection (grpc.WithPerRPCCredentials) or of one call
// (grpc.PerRPCCredentials). They are safe for concurrent use when Token is.
type Credentials struct {
	// Token returns the access token to send with a call; it is called once
	// per call, so it may refresh tokens as they near expiry. Required.
	Token func(ctx context.Context) (string, error)
	// AllowInsecure sends the token even over a connection without
	// transport security (grpc's insecure credentials). Anyone on the
	// network path could then read and replay it: set it only for
	// loopback or a network you control (a mesh with mTLS).
	AllowInsecure bool
}

var _ credentials.PerRPCCredentials = (*Credentials)(nil)

// StaticToken returns Credentials that always send tok.
func StaticToken(tok string) *Credentials {
	return &Credentials{Token: func(context.Context) (string, error) { return tok, nil }}
}

// GetRequestMetadata returns the authorization metadata of a call. It
// refuses connections without privacy and integrity unless AllowInsecure
// is set.
func (c *Credentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if !c.AllowInsecure {
		ri, _ := credentials.RequestInfoFromContext(ctx)
		if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInsecureTransport, err)
		}
	}
	if c.Token == nil {
		return nil, errors.New("grpcauth: Credentials.Token is nil")
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("grpcauth: get access token: %w", err)
	}
	if tok == "" {
		return nil, errors.New("grpcauth: empty access token")
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity tells grpc to refuse these credentials on an
// insecure connection unless AllowInsecure is set.
func (c *Credentials) RequireTransportSecurity() bool { return !c.AllowInsecure }
