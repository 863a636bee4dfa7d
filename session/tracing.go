package session

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// validationEvent is the name of the span event a validation records.
const validationEvent = "authmesh.session.validate"

// recordValidation adds the validation's result to the span of ctx, when
// the service traces (OpenTelemetry) and that span is recording. Without
// a recording span it costs one context lookup and no allocation.
func recordValidation(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.AddEvent(validationEvent, trace.WithAttributes(attribute.String("authmesh.validation.result", resultNames[resultOf(err)])))
}
