package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph"
	"github.com/authmesh/authmesh/internal/revoke/feed"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/jwks"
	"github.com/authmesh/authmesh/internal/token/keyring"
	"github.com/authmesh/authmesh/internal/web"
)

// routes lists the whole HTTP API of the auth service (docs/API.md).
func (s *Server) routes() (http.Handler, error) {
	client, err := s.clientResolver()
	if err != nil {
		return nil, err
	}
	policy, err := s.cfg.originPolicy()
	if err != nil {
		return nil, fmt.Errorf("ALLOWED_ORIGINS: %w", err)
	}
	browser, err := s.newWeb(policy)
	if err != nil {
		return nil, err
	}
	gcfg := graph.Config{
		Introspection: s.cfg.GraphQLIntrospection, Logger: s.log, ClientInfo: client,
		Observe: s.newGraphQLMetrics(), Tracer: s.tracing.Tracer(),
	}
	if browser != nil {
		gcfg.Cookies = browser.Cookies()
	}
	api, err := graph.NewHandler(s.svc, gcfg)
	if err != nil {
		return nil, err
	}
	feed, err := feed.NewHandler(s.revs, feed.Config{
		MaxStreams:          s.feedMaxStreams(),
		MaxStreamsPerClient: s.cfg.FeedMaxStreamsPerClient,
		ClientAddr:          func(r *http.Request) string { return client(r).IP },
		Token:               s.cfg.FeedToken,
		Logger:              s.log,
	})
	if err != nil {
		return nil, err
	}
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "authmesh_feed_clients", Help: "Validators connected to the revocation feed.",
	}, func() float64 { return float64(feed.Clients()) }))

	mux := http.NewServeMux()
	if browser == nil {
		mux.Handle("/graphql", s.instrument("graphql", api))
	} else {
		// The cookie transport (docs/SECURITY.md): cookie-mode requests
		// pass the origin check first.
		mux.Handle("/graphql", s.instrument("graphql", browser.Guard(api)))
		mux.Handle("/auth/refresh", s.instrument("auth_refresh", browser.GuardCookies(http.HandlerFunc(browser.Refresh))))
		mux.Handle("/auth/logout", s.instrument("auth_logout", browser.GuardCookies(http.HandlerFunc(browser.Logout))))
		mux.Handle("GET /account", s.instrument("account", http.HandlerFunc(browser.Account)))
		mux.Handle("GET "+web.ScriptPath, s.instrument("script", http.HandlerFunc(browser.Asset)))
		mux.Handle("GET /account.js", s.instrument("script", http.HandlerFunc(browser.Asset)))
		mux.Handle("GET /account.css", s.instrument("script", http.HandlerFunc(browser.Asset)))
	}
	links, err := web.NewLinkPages(s.svc, policy, s.log)
	if err != nil {
		return nil, err
	}
	mux.Handle(auth.VerifyEmailPath, s.instrument("verify_email", http.HandlerFunc(links.VerifyEmail)))
	mux.Handle(auth.ResetPasswordPath, s.instrument("reset_password", http.HandlerFunc(links.ResetPassword)))
	notFound := "not found: the API is POST /graphql"
	if s.cfg.GraphQLPlayground {
		mux.Handle("GET /playground", s.instrument("playground", graph.PlaygroundHandler()))
		notFound += "; see /playground"
	}
	mux.Handle("GET "+jwks.Path, s.instrument("jwks", keyring.JWKSHandler(s.keys)))
	mux.Handle("GET /.well-known/openid-configuration", s.instrument("discovery", http.HandlerFunc(s.discovery)))
	mux.Handle(feedwire.Path, s.streaming(feed))
	mux.Handle("POST "+tokenPath, s.instrument("oauth2_token", http.HandlerFunc(s.oauth2Token)))
	s.deps = newDependencyMonitor(s)
	mux.Handle("GET /livez", s.instrument("livez", http.HandlerFunc(live)))
	mux.Handle("GET /healthz", s.instrument("healthz", http.HandlerFunc(live)))
	mux.Handle("GET /readyz", s.instrument("readyz", http.HandlerFunc(s.deps.ready)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.Handle("/", s.instrument("not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": notFound})
	})))
	// CORS for ALLOWED_ORIGINS only; nothing is allowed by default.
	return s.tracing.Handler(policy.CORS(mux)), nil
}

// feedMaxStreams lets streams take most connections, never all: the API
// and the health checks keep a tenth of MAX_CONNECTIONS.
func (s *Server) feedMaxStreams() int {
	if s.cfg.MaxConnections <= 0 {
		return 0 // the feed's default
	}
	return max(min(feed.DefaultMaxStreams, s.cfg.MaxConnections*9/10), 1)
}

// discovery serves a minimal OpenID-style discovery document. It lists
// only what is true: there are no ID tokens, so no ID-token fields, and the
// access-token algorithms are those of the keys published now (HS256 alone
// with JWT_SECRET), not every algorithm the service could be configured for.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	base := s.cfg.publicURL(s.cfg.Port)
	algs := []string{token.AlgHS256}
	if s.ring != nil {
		algs = s.ring.PublishedAlgorithms()
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.cfg.Issuer,
		"jwks_uri":                              base + jwks.Path,
		"revocation_feed_uri":                   base + feedwire.Path,
		"graphql_endpoint":                      base + "/graphql",
		"token_endpoint":                        base + tokenPath,
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"access_token_signing_alg_values_supported": algs,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// streaming adapts a long-lived response (the SSE feed): it ends the stream
// when the server starts shutting down (Shutdown waits for handlers, and a
// stream never returns on its own). The feed itself lifts the read deadline,
// and only for a stream it admits, so a refused or stalled request is still
// cut by ReadTimeout.
func (s *Server) streaming(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(s.streams, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
