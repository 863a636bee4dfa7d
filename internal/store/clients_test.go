package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

func TestServiceClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		now := time.Now()
		c := auth.ServiceClient{ID: "billing", SecretHash: "h1", Audiences: []string{"orders", "payments"}, Scopes: []string{"orders:read"}, CreatedAt: now}
		if err := db.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateClient(ctx, c); !errors.Is(err, auth.ErrClientExists) {
			t.Fatalf("second create: got %v; want ErrClientExists", err)
		}
		got, err := db.ClientByID(ctx, "billing")
		if err != nil {
			t.Fatal(err)
		}
		if got.SecretHash != "h1" || !slices.Equal(got.Audiences, c.Audiences) || !slices.Equal(got.Scopes, c.Scopes) || got.Disabled {
			t.Fatalf("got %+v; want %+v", got, c)
		}
		sameTime(t, "created", got.CreatedAt, stored(now))
		if err := db.UpdateClient(ctx, "billing", true, "h2", 42); err != nil {
			t.Fatal(err)
		}
		if got, _ = db.ClientByID(ctx, "billing"); !got.Disabled || got.SecretHash != "h2" || got.TokensValidAfter != 42 {
			t.Fatalf("after update: %+v", got)
		}
		if list, err := db.ListClients(ctx); err != nil || len(list) != 1 || list[0].ID != "billing" {
			t.Fatalf("list: %+v, %v", list, err)
		}
		if err := db.DeleteClient(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			db.DeleteClient(ctx, "billing"),
			db.UpdateClient(ctx, "billing", false, "h", 0),
			func() error { _, err := db.ClientByID(ctx, "billing"); return err }(),
		} {
			if !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("unknown client: got %v; want ErrNotFound", err)
			}
		}
	})
}
