package telemetry_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/authmesh/authmesh/internal/telemetry"
)

func TestLogHandlerAddsTheTraceIDs(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	tests := []struct {
		name string
		ctx  context.Context
		want []string
		not  []string
	}{
		{"a span", traced, []string{"trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "span_id=00f067aa0ba902b7", "k=v"}, nil},
		{"no span", context.Background(), []string{"k=v"}, []string{"trace_id", "span_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(telemetry.LogHandler(slog.NewTextHandler(&buf, nil))).With("k", "v")
			log.InfoContext(tt.ctx, "hello")
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("got %q; want %s in it", buf.String(), w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(buf.String(), n) {
					t.Errorf("got %q; want no %s", buf.String(), n)
				}
			}
		})
	}
}

func TestOffIsNoOp(t *testing.T) {
	tr, err := telemetry.New(context.Background(), telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() || tr.Tracer() != nil || tr.RedisHook() != nil {
		t.Errorf("tracing off: got Enabled %v, Tracer %v, RedisHook %v; want false, nil, nil", tr.Enabled(), tr.Tracer(), tr.RedisHook())
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
