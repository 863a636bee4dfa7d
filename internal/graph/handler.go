package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/trace"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/bearer"
	"github.com/authmesh/authmesh/internal/graph/schema"
	"github.com/authmesh/authmesh/internal/origin"
)

// Config configures the GraphQL handler. The zero value is usable: every
// zero field takes the default documented on it.
type Config struct {
	// Introspection allows __schema and __type queries. Off by default;
	// production should leave it off. When on, introspection documents are
	// bounded by fixed caps instead of MaxDepth, MaxFields and MaxComplexity.
	Introspection bool
	// MaxDepth bounds the nesting of fields, fragments expanded. Default 10.
	MaxDepth int
	// MaxComplexity bounds gqlgen's complexity score of an operation.
	// Default 200.
	MaxComplexity int
	// MaxFields bounds the fields of a request, aliases and fragments
	// expanded. Default 50.
	MaxFields int
	// MaxBodyBytes bounds a POST body; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// Logger receives internal errors and recovered panics, each with its
	// request id. Default slog.Default().
	Logger *slog.Logger
	// ClientInfo describes the client of a request (resolved IP behind
	// trusted proxies, User-Agent). Default: the peer address of
	// r.RemoteAddr and r.UserAgent().
	ClientInfo func(*http.Request) auth.ClientInfo
	// Observe, when set, is called once per executed root field (login,
	// refreshToken, me...) with the field's name and its outcome: the
	// extensions.code of its error, or CodeOK. It must be safe for
	// concurrent use; the service counts outcomes in a metric.
	Observe func(field, code string)
	// Cookies enables the cookie transport (TokenCookies). Default nil:
	// a cookie-mode request is refused with 400.
	Cookies TokenCookies
	// Tracer, when set, records a span per operation, named after its
	// root fields. Default nil: no tracing.
	Tracer trace.Tracer
}

// Defaults of Config.
const (
	DefaultMaxDepth      = 10
	DefaultMaxComplexity = 200
	DefaultMaxFields     = 50
	DefaultMaxBodyBytes  = 1 << 20
)

func (c *Config) fill() error {
	if c.MaxDepth < 0 || c.MaxComplexity < 0 || c.MaxFields < 0 || c.MaxBodyBytes < 0 {
		return errors.New("graph: Config limits must not be negative")
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.MaxComplexity == 0 {
		c.MaxComplexity = DefaultMaxComplexity
	}
	if c.MaxFields == 0 {
		c.MaxFields = DefaultMaxFields
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ClientInfo == nil {
		c.ClientInfo = peerClientInfo
	}
	return nil
}

// peerClientInfo is the default Config.ClientInfo.
func peerClientInfo(r *http.Request) auth.ClientInfo {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return auth.ClientInfo{IP: ip, UserAgent: r.UserAgent()}
}

// Handler serves the GraphQL API: POST with a JSON body for every
// operation, GET with URL parameters for queries only. It is safe for
// concurrent use.
type Handler struct {
	svc  Service
	cfg  Config
	exec *executor.Executor
	// The parsed-query caches, kept here so tests can inspect them.
	docs   *docCache
	passed *shapeCache[struct{}]
}

// NewHandler returns the GraphQL handler over svc.
func NewHandler(svc Service, cfg Config) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("graph: nil Service")
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	docs, err := newDocCache()
	if err != nil {
		return nil, fmt.Errorf("graph: query cache: %w", err)
	}
	passed, err := newShapeCache[struct{}]()
	if err != nil {
		return nil, fmt.Errorf("graph: query cache: %w", err)
	}
	exec := executor.New(schema.NewExecutableSchema(schema.Config{Resolvers: &resolver{svc: svc}}))
	exec.SetQueryCache(docs)
	exec.SetParserTokenLimit(maxTokens)
	exec.SetErrorPresenter(presenter(cfg.Logger))
	exec.SetRecoverFunc(recoverPanic)
	exec.SetDisableSuggestion(!cfg.Introspection)
	exec.Use(&limits{
		maxDepth: cfg.MaxDepth, maxFields: cfg.MaxFields, maxComplexity: cfg.MaxComplexity,
		introspection: cfg.Introspection, passed: passed,
	})
	if cfg.Observe != nil {
		exec.Use(&outcomes{observe: cfg.Observe})
	}
	if cfg.Tracer != nil {
		exec.Use(&tracing{tracer: cfg.Tracer})
	}
	return &Handler{svc: svc, cfg: cfg, exec: exec, docs: docs, passed: passed}, nil
}

// ServeHTTP refuses what is not a GraphQL request with a 4xx and a JSON
// error body (code BAD_REQUEST), then runs the operation. Parse and
// validation failures (including the query limits) get 422.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID(r.Header.Get("X-Request-ID"))
	w.Header().Set("X-Request-ID", id)
	defer func() {
		if v := recover(); v != nil {
			h.cfg.Logger.ErrorContext(r.Context(), "graphql: panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, string(auth.CodeInternal), fmt.Sprintf("internal error (request id %s)", id))
		}
	}()
	authz := r.Header.Get("Authorization")
	if len(authz) > maxAuthorizationBytes {
		writeBadRequest(w, http.StatusBadRequest, "Authorization header is too large")
		return
	}
	params, status, msg := h.params(w, r)
	if status != 0 {
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET, POST")
		}
		writeBadRequest(w, status, msg)
		return
	}
	client := h.cfg.ClientInfo(r)
	if c, err := r.Cookie(DeviceCookie); err == nil {
		client.DeviceToken = c.Value
	}
	// The field's surrounding whitespace is not part of its value (RFC 9110
	// §5.5); net/http strips it off the wire, in-process callers may not.
	req := &request{id: id, token: bearer.Token(strings.Trim(authz, " \t")), client: client, svc: h.svc}
	if origin.CookieMode(r) {
		if h.cfg.Cookies == nil {
			writeBadRequest(w, http.StatusBadRequest, "the cookie transport is off at this service (COOKIE_TRANSPORT=off): send Authorization: Bearer <access token> instead of "+origin.TransportHeader)
			return
		}
		req.cookies = &cookieState{}
		if req.token == "" && authz == "" {
			req.token = h.cfg.Cookies.Access(r)
		}
	}
	ctx := graphql.StartOperationTrace(withRequest(r.Context(), req))

	opCtx, errs := h.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
		}
		writeResponse(w, status, h.exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeBadRequest(w, http.StatusMethodNotAllowed, "GET allows queries only: send mutations with POST")
		return
	}
	responses, ctx := h.exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if req.device != "" {
		setDeviceCookie(w, r, req.device, req.deviceExpires)
	}
	status = http.StatusOK
	if req.cookies != nil {
		status = h.writeCookies(w, req)
	}
	writeResponse(w, status, resp)
}

// DeviceCookie is the cookie that carries a login's device token to the
// next login from the same browser. It is HttpOnly (scripts cannot read
// it), SameSite=Strict and limited to the GraphQL path; it is no
// credential for anything but a rate-limit budget.
const DeviceCookie = "authmesh_device"

// setDeviceCookie sets the device cookie; Secure when the request came
// over TLS (directly or, per X-Forwarded-Proto, through a proxy).
func setDeviceCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookie, Value: token, Path: r.URL.Path, Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	})
}

// params reads the operation of a POST body or GET URL. A non-zero status
// means refuse with that status and message.
func (h *Handler) params(w http.ResponseWriter, r *http.Request) (*graphql.RawParams, int, string) {
	start := graphql.Now()
	var p graphql.RawParams
	switch r.Method {
	case http.MethodPost:
		body, status, msg := h.readBody(w, r)
		if status != 0 {
			return nil, status, msg
		}
		p = graphql.RawParams{Query: body.Query, OperationName: body.OperationName, Variables: body.Variables, Extensions: body.Extensions}
	case http.MethodGet:
		q := r.URL.Query()
		for _, name := range []string{"query", "operationName", "variables", "extensions"} {
			if len(q[name]) > 1 {
				return nil, http.StatusBadRequest, fmt.Sprintf("the URL has the parameter %q %d times: send it once", name, len(q[name]))
			}
		}
		p = graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
		if p.Query == "" {
			return nil, http.StatusBadRequest, "missing query: send ?query=... (GET allows queries only)"
		}
		if v := q.Get("variables"); v != "" {
			if err := decodeJSON(v, &p.Variables); err != nil {
				return nil, http.StatusBadRequest, "variables are not a JSON object: " + jsonProblem(err)
			}
		}
	default:
		return nil, http.StatusMethodNotAllowed, "method not allowed: use POST (or GET for queries)"
	}
	p.Headers = r.Header
	p.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	return &p, 0, ""
}

// postBody is the shape of a GraphQL POST body, for checking it.
type postBody struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// drainLimit bounds how much of a refused body is read and thrown away
// before answering. Answering while the client is still sending makes the
// server close a connection with unread data, which the client sees as a
// reset instead of the answer; past this much, a client gets the reset.
const drainLimit = 16 << 20

// drain discards up to drainLimit of what remains of r's body.
func drain(r *http.Request) { _, _ = io.CopyN(io.Discard, r.Body, drainLimit) }

// readBody reads and decodes a POST body. A non-zero status means refuse.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*postBody, int, string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		drain(r)
		return nil, http.StatusUnsupportedMediaType, "unsupported content type: send Content-Type: application/json"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, http.StatusBadRequest, "could not read the request body"
	}
	if int64(len(body)) > h.cfg.MaxBodyBytes {
		drain(r)
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", h.cfg.MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, http.StatusBadRequest, "empty request body: send {\"query\": ...}"
	}
	var p postBody
	if err := decodeJSON(string(body), &p); err != nil {
		return nil, http.StatusBadRequest, "request body is not a GraphQL JSON object: " + jsonProblem(err)
	}
	if msg := ambiguousMember(body); msg != "" {
		return nil, http.StatusBadRequest, msg
	}
	if p.Query == "" {
		return nil, http.StatusBadRequest, "missing query in the request body"
	}
	return &p, 0, ""
}

// postMembers are the members of a GraphQL POST body, spelled exactly.
var postMembers = []string{"query", "operationName", "variables", "extensions"}

// ambiguousMember checks the member names of a body that decoded as a JSON
// object, and describes the first that could be read two ways: a name that
// appears twice (encoding/json keeps the last, another parser the first) or
// a case variant of a GraphQL member such as "Query" (encoding/json matches
// names case-insensitively, a proxy or WAF in front does not). Either would
// let a proxy inspect one operation while this server runs another. It
// returns "" for an unambiguous body.
func ambiguousMember(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]string{} // case-folded name -> name as sent
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		name, _ := t.(string)
		folded := strings.ToLower(name)
		if prev, ok := seen[folded]; ok {
			if prev == name {
				return fmt.Sprintf("request body has the member %q twice: send each member once", name)
			}
			return fmt.Sprintf("request body has both %q and %q: member names differ only in case", prev, name)
		}
		seen[folded] = name
		for _, m := range postMembers {
			if name != m && strings.EqualFold(name, m) {
				return fmt.Sprintf("request body has the member %q: did you mean %q? Member names are case-sensitive", name, m)
			}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// errTrailingData reports JSON followed by more data.
var errTrailingData = errors.New("graph: data after the JSON value")

// decodeJSON decodes exactly one JSON value, numbers kept as json.Number.
func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

// jsonProblem describes a JSON decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q has the wrong type", typ.Field)
		}
		return "expected a JSON object"
	case errors.Is(err, errTrailingData):
		return "data after the JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return "malformed JSON"
	}
}

// PlaygroundHandler serves GraphiQL for the API at /graphql.
func PlaygroundHandler() http.Handler {
	return playground.Handler("authmesh GraphQL", "/graphql")
}
