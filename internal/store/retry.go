package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// A PostgreSQL restart closes every pooled connection; the pool finds out
// only when it next uses each one. The store retries what is safe to
// retry, so that a restart costs latency, not errors:
//   - reads, on any connection-level error (they change nothing);
//   - writes and transactions, only when the error shows the work did not
//     commit: nothing was sent, the connection could not be made, or the
//     server ended the session (SQLSTATE class 57, "operator
//     intervention") before answering, which aborts its transaction.
//
// Retries stop after retryBudget, or when ctx is done.
const retryBudget = 5 * time.Second

// connectionLost reports whether err means the connection, not the
// statement, failed: the statement may be retried on another connection
// if it is idempotent.
func connectionLost(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if notCommitted(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code[:2] == "08" // connection exception
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, sql.ErrConnDone) ||
		errors.As(err, &ne)
}

// notCommitted reports whether err proves that the statement or
// transaction that failed did not commit, so that running it again is
// safe even when it writes.
func notCommitted(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
	return errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03")
}

// retry runs op until it succeeds, fails in a way retryable does not
// accept, the budget is spent or ctx is done. Only PostgreSQL is retried:
// SQLite has no connections to lose. With a tracer, the whole of it is one
// client span named after the database system.
func (db *DB) retry(ctx context.Context, retryable func(error) bool, op func() error) error {
	if db.tracer == nil {
		return db.retryOp(ctx, retryable, op)
	}
	system := "sqlite"
	if db.dialect == DialectPostgres {
		system = "postgresql"
	}
	ctx, span := db.tracer.Start(ctx, system, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", system)))
	defer span.End()
	err := db.retryOp(ctx, retryable, op)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "database call failed")
	}
	return err
}

func (db *DB) retryOp(ctx context.Context, retryable func(error) bool, op func() error) error {
	err := op()
	if err == nil || db.dialect != DialectPostgres || !retryable(err) {
		return err
	}
	deadline := time.Now().Add(retryBudget)
	wait := 10 * time.Millisecond
	for attempt := 1; retryable(err) && time.Now().Before(deadline); attempt++ {
		if attempt == 1 {
			db.log.WarnContext(ctx, "store: database connection lost; retrying", "err", err)
			db.dropIdle()
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
		if err = op(); err == nil {
			db.log.InfoContext(ctx, "store: database answered again", "attempts", attempt+1)
			return nil
		}
	}
	return err
}

// dropIdle closes the pool's idle connections: after one was found dead
// (the server restarted), the others are too, and each would cost a retry.
func (db *DB) dropIdle() {
	if db.maxIdle > 0 {
		db.read.SetMaxIdleConns(0)
		db.read.SetMaxIdleConns(db.maxIdle)
	}
}
