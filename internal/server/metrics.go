package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// instrument counts and times requests per route, labelled with the route
// name (never the raw path, which a client controls).
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"route": route}
	return promhttp.InstrumentHandlerCounter(s.requests.MustCurryWith(labels),
		promhttp.InstrumentHandlerDuration(s.durations.MustCurryWith(labels), h))
}

// newHTTPMetrics registers the HTTP metrics of the service.
func (s *Server) newHTTPMetrics() {
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authmesh_http_requests_total",
		Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	s.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "authmesh_http_request_duration_seconds",
		Help:    "HTTP request latency by route and method (feed streams excluded).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "method"})
	s.registry.MustRegister(s.requests, s.durations)
}

// newGraphQLMetrics registers authmesh_graphql_results_total and returns
// the graph.Config.Observe that counts into it: per root field (login,
// refreshToken...) and outcome code (OK, INVALID_CREDENTIALS,
// RATE_LIMITED, REFRESH_TOKEN_REUSED...), both bounded by the schema and
// the closed code list. The dashboards and alerts read login failures,
// rate limiting and refresh-token reuse from it.
func (s *Server) newGraphQLMetrics() func(field, code string) {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authmesh_graphql_results_total",
		Help: "GraphQL root fields executed, by field and outcome (OK or the error's extensions.code).",
	}, []string{"field", "code"})
	s.registry.MustRegister(results)
	return func(field, code string) { results.WithLabelValues(field, code).Inc() }
}
