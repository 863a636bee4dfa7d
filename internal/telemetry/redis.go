package telemetry

import (
	"context"
	"net"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// redisHook makes a client span of every Redis command and pipeline.
type redisHook struct {
	tracer trace.Tracer
}

var _ redis.Hook = redisHook{}

var redisSystem = attribute.String("db.system.name", "redis")

// RedisHook returns the go-redis hook recording a span per command and per
// pipeline (nil when tracing is off: add it only when not nil).
func (t *Tracing) RedisHook() redis.Hook {
	if t.sdk == nil {
		return nil
	}
	return redisHook{tracer: t.Tracer()}
}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, span := h.tracer.Start(ctx, "redis.dial", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(redisSystem))
		defer span.End()
		conn, err := next(ctx, network, addr)
		end(span, err)
		return conn, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, span := h.tracer.Start(ctx, cmd.FullName(), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.String("db.operation.name", cmd.FullName())))
		defer span.End()
		err := next(ctx, cmd)
		end(span, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, span := h.tracer.Start(ctx, "pipeline", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.Int("db.operation.batch.size", len(cmds))))
		defer span.End()
		err := next(ctx, cmds)
		end(span, err)
		return err
	}
}

// end marks span failed when err is a failure (redis.Nil, a missing key,
// is not one).
func end(span trace.Span, err error) {
	if err != nil && err != redis.Nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}
