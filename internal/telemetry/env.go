package telemetry

import (
	"fmt"
	"strings"
)

// EnvEnabled reads the standard OTEL_* variables that decide whether
// tracing is on, through getenv: an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or
// OTEL_TRACES_EXPORTER=otlp turns it on, OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none off; unset, it is off. The exporter reads the
// other OTEL_EXPORTER_OTLP_* variables itself. The auth service reads the
// same rules into its Config; the example services call this.
func EnvEnabled(getenv func(string) string) (bool, error) {
	disabled := false
	switch v := strings.ToLower(strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))); v {
	case "", "false":
	case "true":
		disabled = true
	default:
		return false, fmt.Errorf("OTEL_SDK_DISABLED=%q must be true or false", v)
	}
	exporter := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	switch exporter {
	case "", "otlp", "none":
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: traces are exported with otlp (OTLP/HTTP) or none", exporter)
	}
	if disabled || exporter == "none" {
		return false, nil
	}
	endpoint := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
	return exporter == "otlp" || endpoint, nil
}
