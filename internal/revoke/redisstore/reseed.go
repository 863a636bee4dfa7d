package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
)

// DefaultLayoutCheckInterval is how often Store.Run checks that Redis
// still holds the revocation state.
const DefaultLayoutCheckInterval = time.Second

// seedBatch is how many entries one seed script merges.
const seedBatch = 1000

// maxSeedAttempts bounds how often EnsureLayout restarts a seed that data
// loss or a concurrent seed interrupted.
const maxSeedAttempts = 3

// EnsureLayout makes sure Redis holds the layout marker, and returns once
// it does. When the marker is missing (first start, or Redis lost its
// data) it first re-seeds Redis with every live revocation of the Journal,
// then installs a marker with a new epoch, which tells every validator
// synced against the old state to load a fresh snapshot. Several auth
// service replicas may call it at once: they converge on one epoch.
func (s *Store) EnsureLayout(ctx context.Context) error {
	s.layoutMu.Lock()
	defer s.layoutMu.Unlock()
	for attempt := 1; ; attempt++ {
		l, err := s.Layout(ctx)
		if err == nil {
			if l.V > revoke.ProtocolVersion {
				return fmt.Errorf("%w: Redis holds a layout of protocol version %d; this auth service speaks %d", revoke.ErrUnsupported, l.V, revoke.ProtocolVersion)
			}
			if s.epoch != "" && s.epoch != l.Epoch {
				s.log.Info("revoke: revocation state in Redis has a new epoch (another replica re-seeded it)", "epoch", l.Epoch)
			}
			s.epoch = l.Epoch
			return nil
		}
		if !errors.Is(err, redissync.ErrLayoutMissing) {
			return err
		}
		err = s.seed(ctx)
		if err == nil || !isScriptError(err, "RESEED") || attempt >= maxSeedAttempts {
			return err
		}
		s.log.Warn("revoke: re-seeding Redis was interrupted; starting over", "attempt", attempt)
	}
}

// seed copies the journal's live revocations into Redis and installs a new
// layout marker, unless another replica installed one meanwhile.
func (s *Store) seed(ctx context.Context) error {
	start := time.Now()
	epoch := newEpoch()
	s.lastMu.Lock()
	s.lastID = redissync.StreamID{} // the log starts over
	s.lastMu.Unlock()
	if err := s.client.Set(ctx, s.keys.Seeding(), epoch, 0).Err(); err != nil {
		return fmt.Errorf("revoke: re-seed Redis: %w", err)
	}
	n := 0
	if s.journal != nil {
		evs, _, err := s.journal.LiveRevocations(ctx, s.now())
		if err != nil {
			return fmt.Errorf("revoke: re-seed Redis: read the journal: %w", err)
		}
		for len(evs) > 0 {
			batch := evs[:min(len(evs), seedBatch)]
			evs = evs[len(batch):]
			args := make([]any, 0, 1+3*len(batch))
			args = append(args, epoch)
			for _, ev := range batch {
				e := clampEntry(ev.Entry)
				args = append(args, redissync.Field(e), e.Expires, e.Before)
			}
			if err := seedScript.Run(ctx, s.client, []string{s.keys.Entries(), s.keys.Expiry(), s.keys.Seeding()}, args...).Err(); err != nil {
				return fmt.Errorf("revoke: re-seed Redis: %w", err)
			}
			n += len(batch)
		}
	}
	announce, err := json.Marshal(redissync.LayoutMessage{V: revoke.ProtocolVersion, Layout: epoch})
	if err != nil {
		return err
	}
	got, err := installScript.Run(ctx, s.client, []string{s.keys.Layout(), s.keys.Seeding()},
		epoch, revoke.ProtocolVersion, s.layout.Issuer, s.layout.Audience, "1", s.channel, string(announce),
		strconv.FormatInt(s.now().Unix(), 10)).Text()
	if err != nil {
		return fmt.Errorf("revoke: install layout marker: %w", err)
	}
	first := s.epoch == ""
	s.epoch = got
	switch {
	case got != epoch:
		s.log.Info("revoke: another replica installed the revocation layout meanwhile", "epoch", got)
	case s.journal == nil:
		s.log.Warn("revoke: installed a revocation layout marker without a journal to re-seed from", "epoch", got)
	case first:
		s.log.Info("revoke: revocation layout installed in Redis; seeded from the database",
			"epoch", got, "revocations", n, "took", time.Since(start))
	default:
		s.log.Warn("revoke: Redis had lost the revocation state; re-seeded it from the database",
			"epoch", got, "revocations", n, "took", time.Since(start))
	}
	return nil
}

// checkLayout is Run's periodic check: it re-seeds Redis when the marker is
// gone, and when the log no longer holds the newest entry this store wrote
// (a failover to a replica that missed it, with the marker intact), by
// replacing the marker.
func (s *Store) checkLayout(ctx context.Context) error {
	s.lastMu.Lock()
	last := s.lastID
	s.lastMu.Unlock()
	if last != (redissync.StreamID{}) {
		id := last.String()
		// The log may have been trimmed past it; only a log whose newest
		// entry is older than ours lost it.
		msgs, err := s.client.XRevRangeN(ctx, s.keys.Log(), "+", "-", 1).Result()
		if err != nil {
			return fmt.Errorf("revoke: check revocation log: %w", err)
		}
		newest := redissync.StreamID{}
		if len(msgs) > 0 {
			newest, _ = redissync.ParseStreamID(msgs[0].ID)
		}
		if newest.Less(last) {
			s.log.Warn("revoke: the Redis revocation log lost writes (failover to a stale replica?); replacing its epoch", "last_written", id)
			if err := s.client.Del(ctx, s.keys.Layout()).Err(); err != nil {
				return fmt.Errorf("revoke: drop stale layout marker: %w", err)
			}
			s.lastMu.Lock()
			s.lastID = redissync.StreamID{}
			s.lastMu.Unlock()
		}
	}
	return s.EnsureLayout(ctx)
}
