package server

import (
	"fmt"
	"strings"
)

// loadTracing reads the standard OTEL_* variables that decide whether
// tracing is on (docs/CONFIGURATION.md); the exporter reads the rest.
func (c *Config) loadTracing(getenv func(string) string) error {
	switch v := strings.ToLower(strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))); v {
	case "", "false":
	case "true":
		c.OTELSDKDisabled = true
	default:
		return fmt.Errorf("OTEL_SDK_DISABLED=%q must be true or false", v)
	}
	c.OTELTracesExporter = strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	switch c.OTELTracesExporter {
	case "", "otlp", "none":
	default:
		return fmt.Errorf("OTEL_TRACES_EXPORTER=%q: this service exports traces with otlp (OTLP/HTTP) or none", c.OTELTracesExporter)
	}
	c.OTELExporterOTLPEndpoint = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	c.OTELExporterOTLPTracesEndpoint = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	return nil
}

// tracingEnabled reports whether spans are exported: an OTLP endpoint or
// OTEL_TRACES_EXPORTER=otlp turns tracing on, OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none off.
func (c Config) tracingEnabled() bool {
	if c.OTELSDKDisabled || c.OTELTracesExporter == "none" {
		return false
	}
	return c.OTELTracesExporter == "otlp" || c.OTELExporterOTLPEndpoint != "" || c.OTELExporterOTLPTracesEndpoint != ""
}
