package server

import (
	"testing"

	"github.com/authmesh/authmesh/internal/telemetry"
)

// TestTracingEnabledAgreesWithTheExamples: the auth service decides from
// its Config whether to trace by the same rules as telemetry.EnvEnabled,
// which the example services use, so one set of OTEL_* variables turns
// tracing on or off for all of them alike.
func TestTracingEnabledAgreesWithTheExamples(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
		{"OTEL_TRACES_EXPORTER": "otlp"},
		{"OTEL_TRACES_EXPORTER": "OTLP"},
		{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
		{"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "  "},
	} {
		getenv := func(k string) string { return env[k] }
		cfg, err := LoadConfig(getenv)
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		want, err := telemetry.EnvEnabled(getenv)
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		if got := cfg.tracingEnabled(); got != want {
			t.Errorf("%v: the auth service traces: %v; the examples: %v", env, got, want)
		}
	}
}
