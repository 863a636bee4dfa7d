package grpcauth

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/session"
)

// revocationWatcher is a validator that can cancel a running call's
// context when its token is revoked (*session.SessionValidator).
type revocationWatcher interface {
	ValidateUntilRevoked(ctx context.Context, raw string) (context.Context, context.CancelFunc, error)
}

var _ revocationWatcher = (*session.SessionValidator)(nil)

// KeepStreamsOnRevocation lets streams that were authenticated run to
// their end even when their token is revoked meanwhile; by default the
// stream interceptor ends them with codes.Unauthenticated.
func KeepStreamsOnRevocation() Option {
	return func(o *options) { o.keep = true }
}

// serveWatched authenticates a stream and runs its handler with a context
// that a revocation of the token cancels.
func serveWatched(rw revocationWatcher, o *options, srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	raw, err := bearerFromMetadata(ss.Context())
	if err != nil {
		return err
	}
	ctx, release, err := rw.ValidateUntilRevoked(ss.Context(), raw)
	if err != nil {
		return statusOf(err)
	}
	defer release()
	if err := o.authorize(ctx, info.FullMethod); err != nil {
		return err
	}
	err = handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, session.ErrRevoked):
		return errUnauthenticated()
	case session.IsUnavailable(cause):
		return status.Error(codes.Unavailable, session.UnavailableBody)
	}
	return err
}
