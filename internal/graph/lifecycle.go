package graph

import (
	"context"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph/schema"
)

// The account lifecycle's mutations: email verification, password reset
// and email change (docs/API.md).

func (r mutationResolver) RequestEmailVerification(ctx context.Context) (bool, error) {
	return r.withCaller(ctx, r.svc.RequestEmailVerification)
}

func (r mutationResolver) VerifyEmail(ctx context.Context, token string) (bool, error) {
	if err := r.svc.VerifyEmail(ctx, token); err != nil {
		return false, err
	}
	return true, nil
}

func (r mutationResolver) RequestPasswordReset(ctx context.Context, email string) (bool, error) {
	if err := r.svc.RequestPasswordReset(ctx, email, clientInfo(ctx)); err != nil {
		return false, err
	}
	return true, nil
}

// ResetPassword hashes a password, so it counts as the request's one
// password operation, like changePassword.
func (r mutationResolver) ResetPassword(ctx context.Context, in schema.ResetPasswordInput) (bool, error) {
	if err := passwordOp(ctx); err != nil {
		return false, err
	}
	if err := r.svc.ResetPassword(ctx, in.Token, in.NewPassword); err != nil {
		return false, err
	}
	return true, nil
}

// ChangeEmail checks a password, so it counts as the request's one
// password operation, like changePassword.
func (r mutationResolver) ChangeEmail(ctx context.Context, in schema.ChangeEmailInput) (bool, error) {
	if err := passwordOp(ctx); err != nil {
		return false, err
	}
	return r.withCaller(ctx, func(ctx context.Context, c auth.Caller) error {
		return r.svc.ChangeEmail(ctx, c, in.NewEmail, in.Password)
	})
}
