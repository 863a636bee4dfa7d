package e2e_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/metadata"

	"github.com/authmesh/authmesh/examples/example-grpc-service/examplepb"
	"github.com/authmesh/authmesh/internal/testenv"
)

// TestExampleServicesTrace: the example services, given the same OTEL_*
// variables as the auth service, export a server span per request to the
// OTLP receiver, continuing the caller's W3C traceparent (so one trace
// holds the caller's call to the auth service and to each service), with
// the token's validation recorded as a span event and their own
// service.name. Embedded (feed) mode.
func TestExampleServicesTrace(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	grpcBin := grpcExampleBinary(t)
	rcv := newOTLPReceiver(t)
	otel := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL, "OTEL_BSP_SCHEDULE_DELAY": "100"}
	authEnv := map[string]string{"DATA_DIR": t.TempDir()}
	auth := start(t, serverBin, merge(authEnv, cheapArgon, otel), "/healthz")
	svc := start(t, exampleBin, merge(serviceEnv(authEnv, auth.URL), otel), "/health")
	grpcSvc := start(t, grpcBin, merge(serviceEnv(authEnv, auth.URL), otel), grpcHealth)
	a := registerAndLogin(t, auth.URL, "traced-services@example.com")
	waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 10*time.Second)

	// One trace, three calls: to the microservice, to the gRPC service,
	// then to the auth service.
	const traceID = "5a1e7f3c9b2d4e6f8a0b1c2d3e4f5a6b"
	const httpParent, grpcParent, authParent = "1111111111111111", "2222222222222222", "3333333333333333"
	traceparent := func(parent string) string { return "00-" + traceID + "-" + parent + "-01" }

	req, _ := http.NewRequest(http.MethodGet, svc.URL+"/api/protected", nil)
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Traceparent", traceparent(httpParent))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/protected with a traceparent: %v %v", resp, err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	whoami := examplepb.NewExampleServiceClient(grpcClient(t, grpcSvc.Addr()))
	if _, err := whoami.Whoami(metadata.AppendToOutgoingContext(ctx, "traceparent", traceparent(grpcParent)), &examplepb.WhoamiRequest{}, withToken(a.Token)); err != nil {
		t.Fatalf("Whoami with a traceparent: %v", err)
	}
	if status, r, err := postGraphQL(auth.URL, `mutation { logout }`, a.Token, http.Header{"Traceparent": {traceparent(authParent)}}); err != nil || status != http.StatusOK || r.code() != "" {
		t.Fatalf("logout with a traceparent: %d %v %q", status, err, r.code())
	}

	serverSpan := func(parent string) func(*tracepb.Span) bool {
		return func(s *tracepb.Span) bool {
			return s.GetKind() == tracepb.Span_SPAN_KIND_SERVER &&
				hex.EncodeToString(s.GetTraceId()) == traceID && hex.EncodeToString(s.GetParentSpanId()) == parent
		}
	}
	for _, w := range []struct {
		what, parent, service string
		validates             bool
	}{
		{"the example microservice's span of GET /api/protected", httpParent, "example-microservice", true},
		{"the gRPC example's span of Whoami", grpcParent, "example-grpc-service", true},
		{"the auth service's span of the logout", authParent, "authmesh", false},
	} {
		testenv.WaitFor(t, w.what, func() bool { return rcv.find(serverSpan(w.parent)) != nil })
		s := rcv.find(serverSpan(w.parent))
		if got := rcv.service(s); got != w.service {
			t.Errorf("%s: service.name %q; want %q", w.what, got, w.service)
		}
		if !w.validates {
			continue
		}
		validated := false
		for _, e := range s.GetEvents() {
			validated = validated || e.GetName() == "authmesh.session.validate"
		}
		if !validated {
			t.Errorf("%s (%s) records no validation event; events: %v", w.what, s.GetName(), s.GetEvents())
		}
	}
	if s := rcv.find(serverSpan(grpcParent)); s.GetName() != "authmesh.example.v1.ExampleService/Whoami" {
		t.Errorf("the gRPC span is named %q; want the method", s.GetName())
	}
	if rcv.find(func(s *tracepb.Span) bool {
		return rcv.services[s] == "example-grpc-service" && s.GetName() == "grpc.health.v1.Health/Check"
	}) != nil {
		t.Error("health checks are traced; want them filtered out")
	}
}
