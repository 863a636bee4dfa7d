package graph_test

import (
	"slices"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authmesh/authmesh/internal/graph"
)

// TestOperationSpans: with a Tracer, each operation is one span named after
// its root fields, failed when the operation answered errors.
func TestOperationSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	e := newEnv(t, graph.Config{Tracer: tp.Tracer("test")})
	lr := e.registerAndLogin("spans@example.com", "Test1234!")
	for _, tt := range []struct {
		name, query, token string
		want               string
		failed             bool
	}{
		{"one field", `query Whatever { me { id } }`, lr.Token, "me", false},
		{"two fields", `query { me { id } b: me { email } }`, lr.Token, "me,me", false},
		{"an error", `query { me { id } }`, "", "me", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.Ended())
			e.post(tt.query, nil, tt.token)
			ended := rec.Ended()[before:]
			if len(ended) != 1 {
				t.Fatalf("got %d spans; want 1", len(ended))
			}
			if got := ended[0].Name(); got != tt.want {
				t.Errorf("span name %q; want %q", got, tt.want)
			}
			if failed := ended[0].Status().Code == codes.Error; failed != tt.failed {
				t.Errorf("span failed: %v; want %v", failed, tt.failed)
			}
		})
	}
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	if !slices.Contains(names, "register") || !slices.Contains(names, "login") {
		t.Errorf("spans %q; want register and login among them", names)
	}
}
