package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/bearer"
)

const (
	// maxAuthorizationBytes bounds the Authorization header; longer ones are
	// refused with 400 before anything parses them. It is the bound of the
	// one bearer parser, so no header it would parse is refused.
	maxAuthorizationBytes = bearer.MaxHeaderBytes
	// maxRequestIDBytes bounds an incoming X-Request-ID that is honoured.
	maxRequestIDBytes = 64
)

// request is the per-HTTP-request state resolvers reach through the context.
type request struct {
	id     string
	token  string // bearer token (or access cookie), "" when none was sent
	client auth.ClientInfo
	svc    Service
	// cookies is set for a cookie-mode request (TokenCookies); mu guards
	// it against query fields resolving in parallel.
	cookies *cookieState
	mu      sync.Mutex

	once   sync.Once
	caller auth.Caller
	err    error

	// passwordOps counts the fields of this request that hash a password.
	passwordOps atomic.Int32
	// device is the device token a login of this request issued, for the
	// handler to set as a cookie (at most one login runs per request).
	device        string
	deviceExpires time.Time
}

// maxPasswordOps bounds the fields that hash a password (login, register,
// changePassword) in one request, aliases included: each costs one or two
// argon2id computations, and a request must not multiply that work. The
// rate limits bound it per client address and per session across requests.
const maxPasswordOps = 1

// errTooManyPasswordOps refuses a password field beyond maxPasswordOps.
var errTooManyPasswordOps = &auth.Error{
	Code:    auth.CodeBadUserInput,
	Message: "at most one login, register or changePassword per request: send them as separate requests",
}

// passwordOp admits one password-hashing field of the request in ctx, or
// refuses it when the request already had its share.
func passwordOp(ctx context.Context) error {
	r := requestFrom(ctx)
	if r == nil {
		return nil
	}
	if r.passwordOps.Add(1) > maxPasswordOps {
		return errTooManyPasswordOps
	}
	return nil
}

type requestKey struct{}

func withRequest(ctx context.Context, r *request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

func requestFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}

// requestID returns the request id of ctx, or "" outside a request.
func requestID(ctx context.Context) string {
	if r := requestFrom(ctx); r != nil {
		return r.id
	}
	return ""
}

// clientInfo returns the client of the request in ctx.
func clientInfo(ctx context.Context) auth.ClientInfo {
	if r := requestFrom(ctx); r != nil {
		return r.client
	}
	return auth.ClientInfo{}
}

// errNoToken is returned to resolvers that need a caller when the request
// carried no usable bearer token.
var errNoToken = &auth.Error{
	Code:    auth.CodeUnauthenticated,
	Message: "authentication required: send the header Authorization: Bearer <access token>",
}

// caller authenticates the request in ctx, once per request however many
// fields need it.
func caller(ctx context.Context) (auth.Caller, error) {
	r := requestFrom(ctx)
	if r == nil || r.token == "" {
		return auth.Caller{}, errNoToken
	}
	r.once.Do(func() {
		r.caller, r.err = r.svc.Authenticate(ctx, r.token)
		r.caller.Client = r.client
	})
	return r.caller, r.err
}

// newRequestID honours an incoming X-Request-ID that is short and made of
// safe characters, and otherwise makes a random one.
func newRequestID(incoming string) string {
	if incoming != "" && len(incoming) <= maxRequestIDBytes && safeID(incoming) {
		return incoming
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func safeID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.:/+=@", c) >= 0:
		default:
			return false
		}
	}
	return true
}
