package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/token"
)

// newClients builds the client use cases over the env's database, journal
// and clock.
func (e *env) newClients(t *testing.T) (*auth.Clients, *token.Issuer) {
	t.Helper()
	iss, err := token.NewIssuer(e.keys, token.IssuerConfig{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := auth.NewClients(auth.ClientsConfig{Store: e.db, Revoker: e.revs, Issuer: iss, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c, iss
}

func TestServiceClients(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		clients, _ := e.newClients(t)
		ctx := context.Background()

		for _, bad := range []struct {
			id        string
			audiences []string
			scopes    []string
		}{
			{"", []string{"a"}, nil},
			{"has space", []string{"a"}, nil},
			{"has:colon", []string{"a"}, nil},
			{"0b0b6f4e-2c7a-4c53-9b8e-3f1a2d9b7c11", []string{"a"}, nil}, // a UUID, like user ids
			{"billing", nil, nil},
			{"billing", []string{"a b"}, nil},
			{"billing", []string{"a"}, []string{`quo"te`}},
		} {
			if _, err := clients.Create(ctx, bad.id, bad.audiences, bad.scopes); !errors.Is(err, auth.ErrInvalidClientSpec) {
				t.Errorf("Create(%q, %q, %q): got %v; want ErrInvalidClientSpec", bad.id, bad.audiences, bad.scopes, err)
			}
		}
		secret, err := clients.Create(ctx, "billing", []string{"orders", "payments"}, []string{"orders:read", "payments:charge"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clients.Create(ctx, "billing", []string{"orders"}, nil); !errors.Is(err, auth.ErrClientExists) {
			t.Fatalf("second Create: got %v; want ErrClientExists", err)
		}

		tests := []struct {
			name     string
			id, sec  string
			audience string
			scopes   []string
			want     error
		}{
			{"valid", "billing", secret, "orders", []string{"orders:read"}, nil},
			{"all scopes by default", "billing", secret, "payments", nil, nil},
			{"wrong secret", "billing", secret + "x", "orders", nil, auth.ErrInvalidClient},
			{"unknown client", "nobody", secret, "orders", nil, auth.ErrInvalidClient},
			{"audience not allowed", "billing", secret, "admin", nil, auth.ErrInvalidTarget},
			{"audience needed among several", "billing", secret, "", nil, auth.ErrInvalidTarget},
			{"scope not allowed", "billing", secret, "orders", []string{"admin"}, auth.ErrInvalidScope},
		}
		for _, tt := range tests {
			g, err := clients.Token(ctx, tt.id, tt.sec, tt.audience, tt.scopes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("%s: got %v; want %v", tt.name, err, tt.want)
			}
			if err == nil {
				c, err := e.verify.Verify(g.AccessToken, token.TypeAccess)
				if err != nil || !c.IsService() || c.Subject != "billing" || c.Audience[0] != tt.audience || g.ExpiresIn <= 0 {
					t.Fatalf("%s: token claims %+v, %v; grant %+v", tt.name, c, err, g)
				}
			}
		}

		// Rotation: the old secret and the tokens got with it stop working,
		// a token got with the new secret in the same second works.
		old, err := clients.Token(ctx, "billing", secret, "orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := clients.Rotate(ctx, "billing")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clients.Token(ctx, "billing", secret, "orders", nil); !errors.Is(err, auth.ErrInvalidClient) {
			t.Fatalf("old secret after rotation: got %v; want ErrInvalidClient", err)
		}
		renewed, err := clients.Token(ctx, "billing", fresh, "orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !e.rejected(t, old.AccessToken) || e.rejected(t, renewed.AccessToken) {
			t.Fatalf("after rotation: old token rejected %v (want true), new token rejected %v (want false)",
				e.rejected(t, old.AccessToken), e.rejected(t, renewed.AccessToken))
		}

		// Disabling revokes; enabling lets it get tokens again.
		e.clock.Add(2 * time.Second)
		if err := clients.Disable(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		if !e.rejected(t, renewed.AccessToken) {
			t.Fatal("a disabled client's token is still accepted")
		}
		if _, err := clients.Token(ctx, "billing", fresh, "orders", nil); !errors.Is(err, auth.ErrInvalidClient) {
			t.Fatalf("disabled client: got %v; want ErrInvalidClient", err)
		}
		if err := clients.Enable(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		if _, err := clients.Token(ctx, "billing", fresh, "orders", nil); err != nil {
			t.Fatalf("re-enabled client: %v", err)
		}
		if err := clients.Delete(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		if err := clients.Delete(ctx, "billing"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("deleting twice: got %v; want ErrNotFound", err)
		}
		if list, err := clients.List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("after delete: %+v, %v", list, err)
		}
	})
}
