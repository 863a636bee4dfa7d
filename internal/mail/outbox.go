package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Queued is a message in the durable outbox.
type Queued struct {
	OutboxID  int64 // the row, for the Mark calls
	Envelope  Envelope
	CreatedAt time.Time
	Attempts  int // delivery attempts so far, this one included
}

// OutboxStore is the durable outbox the sender works through; the store
// package implements it on SQLite and PostgreSQL. Its methods are safe
// for concurrent use, and by several replicas on one database.
type OutboxStore interface {
	// EnqueueMail adds env, due at now.
	EnqueueMail(ctx context.Context, env Envelope, now time.Time) error
	// ClaimMail returns up to limit messages due at now and moves each
	// one's next attempt lease ahead, so that no other sender takes it
	// meanwhile (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
	// serialises writers).
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Queued, error)
	// MarkMailSent records the delivery and forgets the message's content.
	MarkMailSent(ctx context.Context, id int64, now time.Time) error
	// MarkMailRetry schedules the next attempt at next.
	MarkMailRetry(ctx context.Context, id int64, next time.Time, lastErr string) error
	// MarkMailFailed gives the message up and forgets its content.
	MarkMailFailed(ctx context.Context, id int64, now time.Time, lastErr string) error
}

// OutboxConfig configures an Outbox. Zero values are the defaults.
type OutboxConfig struct {
	Poll       time.Duration // between two looks at the outbox; default 1s
	Batch      int           // messages claimed at a time; default 10
	Lease      time.Duration // how long a claimed message is this sender's; default 5m
	MinBackoff time.Duration // wait after the first failure, doubled after each next one; default DefaultMinBackoff
	MaxBackoff time.Duration // cap of that wait; default DefaultMaxBackoff
	// GiveUpAfter is how long after it was queued a message that keeps
	// failing is given up (failed, logged, counted). Default 24h.
	GiveUpAfter time.Duration
	Clock       func() time.Time // default time.Now
	Logger      *slog.Logger     // default slog.Default()
	// Metrics, when set, gets the outbox's counters registered:
	// authmesh_mail_sent_total, authmesh_mail_retries_total and
	// authmesh_mail_failed_total.
	Metrics prometheus.Registerer
}

// The outbox's default waits between the attempts at one message.
const (
	DefaultMinBackoff = 5 * time.Second  // after the first failure
	DefaultMaxBackoff = 10 * time.Minute // the longest
)

// Outbox delivers what its store holds through a Sender: at least once,
// with exponential backoff, and never silently dropped. Run owns its
// goroutine; it is safe to run one Outbox per replica on one database.
type Outbox struct {
	store                 OutboxStore
	send                  Sender
	cfg                   OutboxConfig
	sent, retries, failed prometheus.Counter
}

// NewOutbox returns the sender loop over store and s.
func NewOutbox(store OutboxStore, s Sender, cfg OutboxConfig) (*Outbox, error) {
	if store == nil || s == nil {
		return nil, errors.New("mail: NewOutbox: nil store or sender")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	o := &Outbox{store: store, send: s, cfg: cfg,
		sent:    prometheus.NewCounter(prometheus.CounterOpts{Name: "authmesh_mail_sent_total", Help: "Messages the mail server (or the .eml directory) accepted."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "authmesh_mail_retries_total", Help: "Delivery attempts that failed and were scheduled again."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "authmesh_mail_failed_total", Help: "Messages given up after failing for the outbox's give-up time."}),
	}
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{o.sent, o.retries, o.failed} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("mail: register metrics: %w", err)
			}
		}
	}
	return o, nil
}

// Run delivers due messages until ctx is done, then returns ctx's error.
// A store that fails is logged and tried again at the next poll.
func (o *Outbox) Run(ctx context.Context) error {
	t := time.NewTicker(o.cfg.Poll)
	defer t.Stop()
	for {
		for {
			n, err := o.DeliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				o.cfg.Logger.ErrorContext(ctx, "mail: outbox", "err", err)
			}
			if err != nil || n < o.cfg.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// DeliverDue claims one batch of due messages and tries each once,
// returning how many it claimed.
func (o *Outbox) DeliverDue(ctx context.Context) (int, error) {
	now := o.cfg.Clock()
	batch, err := o.store.ClaimMail(ctx, now, o.cfg.Lease, o.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	for _, q := range batch {
		if err := o.deliver(ctx, q); err != nil {
			return len(batch), err
		}
	}
	return len(batch), nil
}

// deliver makes one attempt at q and records its outcome; the error is
// the store's, not the delivery's.
func (o *Outbox) deliver(ctx context.Context, q Queued) error {
	log := o.cfg.Logger.With("message_id", q.Envelope.ID, "to", q.Envelope.To, "subject", q.Envelope.Subject, "attempt", q.Attempts)
	sendErr := o.send.Send(ctx, q.Envelope)
	now := o.cfg.Clock()
	if sendErr == nil {
		o.sent.Inc()
		log.InfoContext(ctx, "mail: delivered")
		return o.store.MarkMailSent(ctx, q.OutboxID, now)
	}
	if ctx.Err() != nil {
		// Shutting down mid-attempt: hand the message back now rather
		// than when the lease runs out, so that a restarted replica (or
		// another one) retries it at its next poll. Should this fail, the
		// lease still brings it back.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := o.store.MarkMailRetry(rctx, q.OutboxID, now, "interrupted by shutdown: "+sendErr.Error()); err != nil {
			log.WarnContext(rctx, "mail: could not hand back a message at shutdown; it is retried when its lease ends", "err", err)
		}
		return ctx.Err()
	}
	if now.Sub(q.CreatedAt) >= o.cfg.GiveUpAfter {
		o.failed.Inc()
		log.ErrorContext(ctx, "mail: giving up on a message", "err", sendErr, "queued_at", q.CreatedAt)
		return o.store.MarkMailFailed(ctx, q.OutboxID, now, sendErr.Error())
	}
	next := now.Add(o.Backoff(q.Attempts))
	o.retries.Inc()
	log.WarnContext(ctx, "mail: delivery failed; will retry", "err", sendErr, "next_attempt", next)
	return o.store.MarkMailRetry(ctx, q.OutboxID, next, sendErr.Error())
}

// releaseTimeout bounds handing a message back at shutdown.
const releaseTimeout = 2 * time.Second

// Backoff is the wait after the attempts-th failed attempt: MinBackoff
// doubled for each earlier failure, at most MaxBackoff.
func (o *Outbox) Backoff(attempts int) time.Duration {
	d := o.cfg.MinBackoff
	for i := 1; i < attempts && d < o.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.cfg.MaxBackoff)
}
