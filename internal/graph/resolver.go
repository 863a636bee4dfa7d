package graph

import (
	"context"
	"errors"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph/schema"
)

// registeredMessage is register's message on success.
const registeredMessage = "User registered successfully"

// resolver implements schema.ResolverRoot over a Service.
type resolver struct{ svc Service }

var _ schema.ResolverRoot = (*resolver)(nil)

func (r *resolver) Mutation() schema.MutationResolver { return mutationResolver{r} }
func (r *resolver) Query() schema.QueryResolver       { return queryResolver{r} }
func (r *resolver) User() schema.UserResolver         { return userResolver{} }
func (r *resolver) LoginPayload() schema.LoginPayloadResolver {
	return loginPayloadResolver{}
}
func (r *resolver) TokenPair() schema.TokenPairResolver { return tokenPairResolver{} }

type mutationResolver struct{ *resolver }

func (r mutationResolver) Register(ctx context.Context, in schema.RegisterInput) (*schema.RegisterPayload, error) {
	if err := passwordOp(ctx); err != nil {
		return nil, err
	}
	u, err := r.svc.Register(ctx, in.Email, in.Password, clientInfo(ctx))
	if err != nil {
		return nil, err
	}
	return &schema.RegisterPayload{Message: registeredMessage, User: &u}, nil
}

func (r mutationResolver) Login(ctx context.Context, in schema.LoginInput) (*auth.LoginResult, error) {
	if err := passwordOp(ctx); err != nil {
		return nil, err
	}
	client := clientInfo(ctx)
	if in.DeviceToken != nil && *in.DeviceToken != "" {
		client.DeviceToken = *in.DeviceToken
	}
	res, err := r.svc.Login(ctx, in.Email, in.Password, client)
	if err != nil {
		return nil, err
	}
	if req := requestFrom(ctx); req != nil {
		req.device, req.deviceExpires = res.DeviceToken, res.DeviceExpiresAt
	}
	issue(ctx, auth.TokenPair{Token: res.Token, RefreshToken: res.RefreshToken, ExpiresAt: res.ExpiresAt})
	return &res, nil
}

func (r mutationResolver) Logout(ctx context.Context) (bool, error) {
	return r.withEndedCaller(ctx, r.svc.Logout)
}

func (r mutationResolver) LogoutAll(ctx context.Context) (bool, error) {
	return r.withEndedCaller(ctx, r.svc.LogoutAll)
}

func (r mutationResolver) RefreshToken(ctx context.Context, token string) (*auth.TokenPair, error) {
	p, err := r.svc.Refresh(ctx, token, clientInfo(ctx))
	if err != nil {
		return nil, err
	}
	issue(ctx, p)
	return &p, nil
}

func (r mutationResolver) ChangePassword(ctx context.Context, in schema.ChangePasswordInput) (bool, error) {
	if err := passwordOp(ctx); err != nil {
		return false, err
	}
	return r.withCaller(ctx, func(ctx context.Context, c auth.Caller) error {
		return r.svc.ChangePassword(ctx, c, in.OldPassword, in.NewPassword)
	})
}

func (r mutationResolver) RevokeSession(ctx context.Context, id string) (bool, error) {
	return r.withCaller(ctx, func(ctx context.Context, c auth.Caller) error {
		if err := r.svc.RevokeSession(ctx, c, id); err != nil {
			return err
		}
		if id == c.SessionID {
			endCurrent(ctx)
		}
		return nil
	})
}

// withCaller authenticates the request and runs op for the caller.
func (r mutationResolver) withCaller(ctx context.Context, op func(context.Context, auth.Caller) error) (bool, error) {
	c, err := caller(ctx)
	if err != nil {
		refused(ctx, err)
		return false, err
	}
	if err := op(ctx, c); err != nil {
		return false, err
	}
	return true, nil
}

// withEndedCaller is withCaller for the logout operations, which also
// accept a genuine token whose session has already ended (auth.Caller.Ended):
// a retry of a logout that completed succeeds.
func (r mutationResolver) withEndedCaller(ctx context.Context, op func(context.Context, auth.Caller) error) (bool, error) {
	c, err := caller(ctx)
	if err != nil && !errors.Is(err, auth.ErrSessionEnded) {
		refused(ctx, err)
		return false, err
	}
	if err := op(ctx, c); err != nil {
		return false, err
	}
	endCurrent(ctx)
	return true, nil
}

type queryResolver struct{ *resolver }

func (r queryResolver) Me(ctx context.Context) (*auth.User, error) {
	c, err := caller(ctx)
	if err != nil {
		refused(ctx, err)
		return nil, err
	}
	u, err := r.svc.Me(ctx, c)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func (r queryResolver) Sessions(ctx context.Context) ([]*auth.Session, error) {
	c, err := caller(ctx)
	if err != nil {
		refused(ctx, err)
		return nil, err
	}
	ss, err := r.svc.Sessions(ctx, c)
	if err != nil {
		return nil, err
	}
	out := make([]*auth.Session, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out, nil
}

type userResolver struct{}

// LastLoginAt is null for an account that never logged in.
func (userResolver) LastLoginAt(_ context.Context, u *auth.User) (*time.Time, error) {
	if u.LastLoginAt.IsZero() {
		return nil, nil
	}
	t := u.LastLoginAt
	return &t, nil
}
