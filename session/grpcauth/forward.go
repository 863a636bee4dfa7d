package grpcauth

import (
	"context"
	"errors"

	"github.com/authmesh/authmesh/session"
)

// ErrNoTokenToForward is returned (wrapped) by Forward's credentials for a
// call whose context carries no caller's token.
var ErrNoTokenToForward = errors.New("grpcauth: no access token to forward: make the call with the context of an authenticated request")

// Forward returns Credentials that send on, with each call, the access
// token that authenticated the incoming request whose context the call is
// made with (session.GetToken: put there by these interceptors or by
// session's HTTP middleware), so that a chain user → A → B is
// authenticated at B as the user. Use it per call
// (grpc.PerRPCCredentials(grpcauth.Forward())) or per connection
// (grpc.WithPerRPCCredentials). A call made without such a context fails
// with ErrNoTokenToForward. Like any Credentials it refuses an insecure
// transport unless AllowInsecure is set on the returned value.
func Forward() *Credentials {
	return &Credentials{Token: func(ctx context.Context) (string, error) {
		raw, ok := session.GetToken(ctx)
		if !ok {
			return "", ErrNoTokenToForward
		}
		return raw, nil
	}}
}
