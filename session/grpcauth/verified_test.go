package grpcauth_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authmesh/authmesh/session"
	"github.com/authmesh/authmesh/session/grpcauth"
)

// TestRequireVerifiedEmail: the rule refuses a user token without the
// email_verified claim with PermissionDenied, on unary calls and streams,
// and lets a verified user's token through.
func TestRequireVerifiedEmail(t *testing.T) {
	v := newValidator(t, session.Config{IgnoreRevocations: true})
	cc := serve(t, v, grpcauth.RequireVerifiedEmail("/test.Echo/"), grpcauth.Exempt(openMethod, openWatch))
	iss := issuer(t, secret, nil)
	user := func(verified bool) string {
		raw, _, err := iss.IssueUserAccess("user-1", "session-1", time.Time{}, verified)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for _, tt := range []struct {
		name string
		tok  string
		want codes.Code
	}{
		{"verified", user(true), codes.OK},
		{"not verified", user(false), codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, uerr, _, err := callBoth(t, cc, tt.tok)
			if got := status.Code(uerr); got != tt.want {
				t.Errorf("unary: got %v; want %v", got, tt.want)
			}
			if got := status.Code(err); got != tt.want {
				t.Errorf("stream: got %v; want %v", got, tt.want)
			}
			if st := status.Convert(err); st.Code() == codes.PermissionDenied && st.Message() != session.EmailNotVerifiedBody {
				t.Errorf("message: got %q; want %q", st.Message(), session.EmailNotVerifiedBody)
			}
		})
	}
	if err := grpcauth.CheckVerifiedEmail(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("CheckVerifiedEmail without claims: got %v; want Unauthenticated", err)
	}
}
