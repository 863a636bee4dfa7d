package grpcauth

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/session"
)

// Services commonly exempted from authentication, for Exempt. A name ending
// in "/" stands for every method of that service.
const (
	// HealthService is the standard grpc.health.v1.Health service.
	HealthService = "/grpc.health.v1.Health/"
	// ReflectionService is server reflection, version v1.
	ReflectionService = "/grpc.reflection.v1.ServerReflection/"
	// ReflectionServiceV1Alpha is server reflection, version v1alpha, which
	// reflection.Register also serves.
	ReflectionServiceV1Alpha = "/grpc.reflection.v1alpha.ServerReflection/"
)

// Option adjusts the server interceptors.
type Option func(*options)

type options struct {
	exact    map[string]bool
	prefixes []string
	keep     bool   // KeepStreamsOnRevocation
	rules    []rule // RequireScope, RequireAudience
}

// Exempt lets calls of the given methods through without a token: full
// method names ("/pkg.Service/Method"), or a service's prefix ending in "/"
// ("/grpc.health.v1.Health/") for all its methods. Exempt calls carry no
// claims, even when a token is sent.
func Exempt(methods ...string) Option {
	return func(o *options) {
		for _, m := range methods {
			if strings.HasSuffix(m, "/") {
				o.prefixes = append(o.prefixes, m)
			} else {
				o.exact[m] = true
			}
		}
	}
}

func newOptions(opts []Option) *options {
	o := &options{exact: map[string]bool{}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func (o *options) exempt(fullMethod string) bool {
	if o.exact[fullMethod] {
		return true
	}
	for _, p := range o.prefixes {
		if strings.HasPrefix(fullMethod, p) {
			return true
		}
	}
	return false
}

// AuthFunc authenticates a call from its incoming metadata and returns its
// context with the claims, or a status error (Unauthenticated or
// Unavailable, as the interceptors answer). Its type converts to the
// AuthFunc of github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth
// (auth.AuthFunc(grpcauth.AuthFunc(v))).
//
// The options are those of the interceptors: Exempt lets the methods named
// through without a token (or use that module's selector middleware), and
// RequireScope, RequireAudience and ScopesByMethod are checked here for
// the call's method, so handlers need not call CheckScope. The method is
// read from the call's context (grpc.Method); called with a context that
// is not a server call's while rules are set, AuthFunc fails the call
// with codes.Internal rather than skip them.
func AuthFunc(v session.Validator, opts ...Option) func(ctx context.Context) (context.Context, error) {
	o := newOptions(opts)
	perMethod := len(o.rules) > 0 || len(o.exact) > 0 || len(o.prefixes) > 0
	return func(ctx context.Context) (context.Context, error) {
		if !perMethod {
			return authenticate(ctx, v)
		}
		method, ok := grpc.Method(ctx)
		if !ok {
			return ctx, errNoMethod
		}
		if o.exempt(method) {
			return ctx, nil
		}
		ctx, err := authenticate(ctx, v)
		if err != nil {
			return ctx, err
		}
		if err := o.authorize(ctx, method); err != nil {
			return ctx, err
		}
		return ctx, nil
	}
}

// errNoMethod: AuthFunc has per-method options but the context names no
// method to apply them to.
var errNoMethod = status.Error(codes.Internal, "grpcauth: AuthFunc has per-method options but was called outside a gRPC server call")

// UnaryServerInterceptor rejects unary calls without a valid access token
// and passes the others on with the claims in their context. It is safe for
// concurrent use.
func UnaryServerInterceptor(v session.Validator, opts ...Option) grpc.UnaryServerInterceptor {
	o := newOptions(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if o.exempt(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		if err := o.authorize(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor rejects streams without a valid access token
// before the handler runs, and passes the others on with the claims in the
// stream's context. It is safe for concurrent use.
//
// When v can watch for revocations (a *session.SessionValidator: see its
// ValidateUntilRevoked), a stream's context is cancelled as soon as its
// token, device session, user or signing key is revoked, and the stream
// ends with codes.Unauthenticated ("Invalid or expired token") whatever
// the handler returns once its context is done. KeepStreamsOnRevocation
// turns that off.
func StreamServerInterceptor(v session.Validator, opts ...Option) grpc.StreamServerInterceptor {
	o := newOptions(opts)
	rw, watch := v.(revocationWatcher)
	watch = watch && !o.keep
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if o.exempt(info.FullMethod) {
			return handler(srv, ss)
		}
		if watch {
			return serveWatched(rw, o, srv, ss, info, handler)
		}
		ctx, err := authenticate(ss.Context(), v)
		if err != nil {
			return err
		}
		if err := o.authorize(ctx, info.FullMethod); err != nil {
			return err
		}
		return handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
	}
}

// authedStream is a server stream whose context carries the claims.
type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }

// authenticate validates the call's bearer token and returns ctx with its
// claims.
func authenticate(ctx context.Context, v session.Validator) (context.Context, error) {
	raw, err := bearerFromMetadata(ctx)
	if err != nil {
		return ctx, err
	}
	actx, err := session.Authenticate(ctx, v, raw)
	if err != nil {
		return ctx, statusOf(err)
	}
	return actx, nil
}

// bearerFromMetadata returns the call's bearer token: exactly one
// authorization value, parsed by the rules of session.ParseBearer.
func bearerFromMetadata(ctx context.Context) (string, error) {
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) != 1 {
		// None, or several that different layers might read differently.
		return "", errUnauthenticated()
	}
	raw := session.ParseBearer(vals[0])
	if raw == "" {
		return "", errUnauthenticated()
	}
	return raw, nil
}

// statusOf maps a validation error onto the status a call ends with.
func statusOf(err error) error {
	if session.IsUnavailable(err) {
		return status.Error(codes.Unavailable, session.UnavailableBody)
	}
	return errUnauthenticated()
}

func errUnauthenticated() error {
	return status.Error(codes.Unauthenticated, session.UnauthorizedBody)
}
