// Package telemetry is the auth service's OpenTelemetry tracing: the
// tracer provider and OTLP/HTTP exporter configured by the standard OTEL_*
// variables, the HTTP server middleware (W3C trace context taken from
// incoming requests), a go-redis hook, and a slog handler that adds the
// trace and span ids to log lines. Tracing is off unless enabled; off, every
// piece is a no-op that adds nothing to a request.
package telemetry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// InstrumentationName names the tracers of the auth service's own spans.
const InstrumentationName = "github.com/authmesh/authmesh"

// DefaultServiceName is the service.name of the spans unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const DefaultServiceName = "authmesh"

// Config configures New. The zero value is tracing off.
type Config struct {
	// Enabled turns tracing on. The exporter then reads the standard
	// OTEL_EXPORTER_OTLP_* variables itself (endpoint, headers, timeout,
	// compression, certificates) and the resource reads OTEL_SERVICE_NAME
	// and OTEL_RESOURCE_ATTRIBUTES.
	Enabled bool
	// ServiceName is the resource's service.name unless OTEL_SERVICE_NAME
	// or OTEL_RESOURCE_ATTRIBUTES says otherwise (default
	// DefaultServiceName).
	ServiceName string
	// Operation names the HTTP server spans of Handler (otelhttp's
	// operation; default DefaultServiceName).
	Operation string
}

// Tracing is the service's tracing: a provider that exports (or a no-op
// one when off) and the W3C propagator. It is safe for concurrent use.
type Tracing struct {
	operation  string
	provider   trace.TracerProvider
	sdk        *sdktrace.TracerProvider // nil when off
	propagator propagation.TextMapPropagator
}

// New sets tracing up as cfg says. Off, it returns a Tracing whose every
// method is a no-op.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	t := &Tracing{
		operation:  cmp.Or(cfg.Operation, DefaultServiceName),
		provider:   noop.NewTracerProvider(),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	if !cfg.Enabled {
		return t, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	// Later options win: the OTEL_* variables override the default name.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", cmp.Or(cfg.ServiceName, DefaultServiceName))),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	t.sdk = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t.provider = t.sdk
	return t, nil
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// Tracer returns the tracer of the service's own spans (GraphQL
// operations, database calls); nil when tracing is off, so that callers
// skip instrumenting altogether.
func (t *Tracing) Tracer() trace.Tracer {
	if t.sdk == nil {
		return nil
	}
	return t.provider.Tracer(InstrumentationName)
}

// Handler wraps h in a server span per request, continuing the trace of
// an incoming traceparent header. Off, it returns h itself.
func (t *Tracing) Handler(h http.Handler) http.Handler {
	if t.sdk == nil {
		return h
	}
	return otelhttp.NewHandler(h, t.operation,
		otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator))
}

// Provider returns the tracer provider: the exporting one, or a no-op one
// when off. For instrumentation libraries of other transports (gRPC).
func (t *Tracing) Provider() trace.TracerProvider { return t.provider }

// Propagator returns the W3C trace-context (and baggage) propagator.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.propagator }

// Shutdown exports the spans still buffered and stops the exporter,
// within ctx. Safe to call when off and more than once.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: flush spans: %w", err)
	}
	return nil
}
