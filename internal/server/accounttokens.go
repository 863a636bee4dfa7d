package server

import (
	"context"
	"log/slog"
	"time"
)

// accountTokenRetention is how long the record of a mailed link's token
// (its hash) is kept after the token expired: long enough that a late
// click hears "already used" or "expired", then forgotten.
const accountTokenRetention = 7 * 24 * time.Hour

// accountTokenPruner deletes the account tokens that expired more than
// accountTokenRetention ago, at start and then every hour.
type accountTokenPruner struct {
	db interface {
		PruneAccountTokens(ctx context.Context, before time.Time) (int64, error)
	}
	log *slog.Logger
}

// Run prunes until ctx is done, then returns ctx's error.
func (p *accountTokenPruner) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := p.db.PruneAccountTokens(ctx, time.Now().Add(-accountTokenRetention))
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Error("accounts: prune expired link tokens", "err", err)
		case n > 0:
			p.log.Info("accounts: pruned expired link tokens", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
