package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/mail"
)

func envelope(t *testing.T, i int) mail.Envelope {
	t.Helper()
	env, err := mail.Compose("no-reply@auth.example", mail.Message{To: fmt.Sprintf("user%d@example.com", i), Subject: "Verify", Text: "t", HTML: "<p>h</p>"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestMailOutbox: a queued message is claimed once, not again while its
// lease runs, again once it has run out (the sender died), and never after
// it was sent; sending forgets its content.
func TestMailOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		env := envelope(t, 1)
		if err := db.EnqueueMail(ctx, env, t0); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ClaimMail(ctx, t0.Add(-time.Second), time.Minute, 10); err != nil || len(got) != 0 {
			t.Fatalf("claim before due: %d, %v; want none", len(got), err)
		}
		got, err := db.ClaimMail(ctx, t0, time.Minute, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim: %d, %v; want 1", len(got), err)
		}
		q := got[0]
		if q.Envelope.ID != env.ID || q.Envelope.From != env.From || q.Envelope.To != env.To || q.Envelope.Subject != env.Subject || string(q.Envelope.Data) != string(env.Data) || q.Attempts != 1 {
			t.Fatalf("claimed %+v; want the queued message, attempt 1", q)
		}
		sameTime(t, "created", q.CreatedAt, stored(t0))
		if again, _ := db.ClaimMail(ctx, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Fatalf("claimed again within the lease: %d", len(again))
		}
		again, err := db.ClaimMail(ctx, t0.Add(2*time.Minute), time.Minute, 10)
		if err != nil || len(again) != 1 || again[0].Attempts != 2 || again[0].Envelope.ID != env.ID {
			t.Fatalf("after the lease: %+v, %v; want the message again, attempt 2", again, err)
		}
		if err := db.MarkMailRetry(ctx, q.OutboxID, t0.Add(time.Hour), "421 try later"); err != nil {
			t.Fatal(err)
		}
		if due, _ := db.ClaimMail(ctx, t0.Add(59*time.Minute), time.Minute, 10); len(due) != 0 {
			t.Fatalf("claimed before its retry time: %d", len(due))
		}
		if err := db.MarkMailSent(ctx, q.OutboxID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if done, _ := db.ClaimMail(ctx, t0.Add(48*time.Hour), time.Minute, 10); len(done) != 0 {
			t.Fatalf("a sent message was claimed: %d", len(done))
		}
		// A failed one is never claimed either.
		env2 := envelope(t, 2)
		if err := db.EnqueueMail(ctx, env2, t0); err != nil {
			t.Fatal(err)
		}
		c, _ := db.ClaimMail(ctx, t0, time.Minute, 10)
		if len(c) != 1 {
			t.Fatalf("claim: %d", len(c))
		}
		if err := db.MarkMailFailed(ctx, c[0].OutboxID, t0, "550 no such user"); err != nil {
			t.Fatal(err)
		}
		if done, _ := db.ClaimMail(ctx, t0.Add(48*time.Hour), time.Minute, 10); len(done) != 0 {
			t.Fatalf("a failed message was claimed: %d", len(done))
		}
		if err := db.EnqueueMail(ctx, env, t0); err == nil {
			t.Error("the same Message-ID was queued twice")
		}
	})
}

// TestMailClaimsAreExclusive: senders on several connections (replicas on
// one database) claiming at once never get the same message.
func TestMailClaimsAreExclusive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		first := open(t, dsn)
		dbs := []mail.OutboxStore{first, open(t, dsn), open(t, dsn)}
		const n = 60
		for i := range n {
			if err := first.EnqueueMail(ctx, envelope(t, i), t0); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for _, db := range dbs {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := db.ClaimMail(ctx, t0, time.Hour, 4)
						if err != nil {
							t.Error(err)
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, q := range got {
							seen[q.Envelope.ID]++
						}
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d messages claimed; want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s claimed %d times", id, k)
			}
		}
	})
}
