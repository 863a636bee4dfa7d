package e2e_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/authmesh/authmesh/internal/testenv"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: it decodes
// every ExportTraceServiceRequest it is sent and keeps the spans.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services map[*tracepb.Span]string // each span's resource service.name
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{services: map[*tracepb.Span]string{}}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not an OTLP trace export", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			t.Errorf("OTLP receiver: undecodable export: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, span := range ss.GetSpans() {
					rcv.spans = append(rcv.spans, span)
					rcv.services[span] = service
				}
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// find returns the first span received that match accepts.
func (rcv *otlpReceiver) find(match func(*tracepb.Span) bool) *tracepb.Span {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if i := slices.IndexFunc(rcv.spans, match); i >= 0 {
		return rcv.spans[i]
	}
	return nil
}

// service is the service.name of the resource span s was exported with.
func (rcv *otlpReceiver) service(s *tracepb.Span) string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return rcv.services[s]
}

func (rcv *otlpReceiver) names() []string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var names []string
	for _, s := range rcv.spans {
		names = append(names, s.GetName())
	}
	return names
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestTracesReachAnOTLPReceiver: with OTEL_EXPORTER_OTLP_ENDPOINT set, a
// register, login and logout run exports the HTTP server spans, a span per
// GraphQL operation named after it, database and Redis client spans; and
// the server span of a request carrying a traceparent header continues
// the caller's trace.
func TestTracesReachAnOTLPReceiver(t *testing.T) {
	serverBin, _ := binaries(t)
	for _, m := range []mode{modes()[0], modes()[2]} {
		t.Run(m.name, func(t *testing.T) {
			rcv := newOTLPReceiver(t)
			auth := start(t, serverBin, merge(m.auth(t), cheapArgon, map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL,
				"OTEL_BSP_SCHEDULE_DELAY":     "100", // ms: export soon
			}), "/healthz")
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("auth service log:\n%s", auth.Logs())
				}
			})
			a := registerAndLogin(t, auth.URL, "traced@example.com")

			const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
			hdr := http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}}
			if status, r, err := postGraphQL(auth.URL, `mutation { logout }`, a.Token, hdr); err != nil || status != http.StatusOK || r.code() != "" {
				t.Fatalf("logout with a traceparent: status %d, %v, code %q; log:\n%s", status, err, r.code(), auth.Logs())
			}

			want := []struct {
				what  string
				match func(*tracepb.Span) bool
			}{
				{"the HTTP server span of POST /graphql", func(s *tracepb.Span) bool {
					return s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.GetName() == "POST /graphql"
				}},
				{"the register operation's span", func(s *tracepb.Span) bool { return s.GetName() == "register" }},
				{"the login operation's span", func(s *tracepb.Span) bool { return s.GetName() == "login" }},
				{"the logout operation's span", func(s *tracepb.Span) bool { return s.GetName() == "logout" }},
				{"a database span", func(s *tracepb.Span) bool {
					sys := attr(s, "db.system.name")
					return s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && (sys == "sqlite" || sys == "postgresql")
				}},
				{"a Redis span", func(s *tracepb.Span) bool {
					return s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && attr(s, "db.system.name") == "redis"
				}},
				{"the server span continuing the incoming traceparent", func(s *tracepb.Span) bool {
					return s.GetKind() == tracepb.Span_SPAN_KIND_SERVER &&
						hex.EncodeToString(s.GetTraceId()) == traceID && hex.EncodeToString(s.GetParentSpanId()) == parentID
				}},
			}
			for _, w := range want {
				testenv.WaitFor(t, w.what, func() bool { return rcv.find(w.match) != nil })
			}
			// The logout's operation span is a child of that server span,
			// in the caller's trace.
			server := rcv.find(want[len(want)-1].match)
			logout := rcv.find(func(s *tracepb.Span) bool { return s.GetName() == "logout" })
			if !bytes.Equal(logout.GetTraceId(), server.GetTraceId()) || !bytes.Equal(logout.GetParentSpanId(), server.GetSpanId()) {
				t.Errorf("logout span: trace %x parent %x; want trace %x parent %x (the server span); spans: %v",
					logout.GetTraceId(), logout.GetParentSpanId(), server.GetTraceId(), server.GetSpanId(), rcv.names())
			}
		})
	}
}
