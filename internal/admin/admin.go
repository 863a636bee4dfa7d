// Package admin is the auth service's operator API: JSON over HTTP under
// /admin/v1, served on a listener of its own (ADMIN_ADDR), never on the
// public port. It finds, disables, enables and deletes accounts, lists and
// revokes their sessions, lists and rotates signing keys, and manages
// service clients, all through the use cases of internal/auth. The
// `authmesh` CLI is its client.
//
// A request must carry `Authorization: Bearer <ADMIN_TOKEN>` when a token
// is configured; the server requires one whenever the listener is not on
// loopback.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/admin/adminwire"
	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/bearer"
)

// Prefix is the path every admin endpoint lives under.
const Prefix = "/admin/v1"

// ProfilePrefix is where the admin listener serves Go's runtime profiles
// (net/http/pprof: profile, heap, goroutine, trace, …), behind the admin
// token like the API.
const ProfilePrefix = "/debug/pprof"

// Service is what the admin API needs of the use cases; *auth.Service
// implements it.
type Service interface {
	FindUser(ctx context.Context, query string) (auth.User, error)
	DisableUser(ctx context.Context, id string) (auth.User, error)
	EnableUser(ctx context.Context, id string) (auth.User, error)
	DeleteUser(ctx context.Context, id string) error
	UserSessions(ctx context.Context, id string) ([]auth.Session, error)
	RevokeUserSession(ctx context.Context, id, sid string) error
	RevokeIssuedBefore(ctx context.Context, t time.Time, userID string) (int, error)
	RevokeUsers(ctx context.Context, userIDs []string) (int, error)
	WithdrawKey(ctx context.Context, kid string) error
	AdminAudit(ctx context.Context, action, userID, detail string, client auth.ClientInfo)
	AuditEvents(ctx context.Context, userID string, limit int) ([]auth.AuditEvent, error)
}

var _ Service = (*auth.Service)(nil)

// Key is a signing key as the admin API shows it (no private material).
type Key = adminwire.Key

// Keys lists and rotates the signing keys; the server adapts the key ring
// to it. Nil in Config when the service signs with a shared JWT_SECRET.
type Keys interface {
	List(ctx context.Context) ([]Key, error)
	// Rotate makes a new key sign from now and returns its kid.
	Rotate(ctx context.Context) (string, error)
}

// Config configures the handler.
type Config struct {
	// Token, when set, is required as the bearer credential of every
	// request (compared in constant time).
	Token string
	// Keys lists and rotates signing keys; nil with a shared secret.
	Keys Keys
	// Clients manages service clients; nil answers 409 on /clients.
	Clients Clients
	// Logger receives internal failures and admin actions (default
	// slog.Default()).
	Logger *slog.Logger
}

// Handler serves the admin API. Safe for concurrent use.
type Handler struct {
	svc   Service
	cfg   Config
	log   *slog.Logger
	token [32]byte // sha256 of Config.Token
	mux   *http.ServeMux
}

// NewHandler returns the admin API over svc.
func NewHandler(svc Service, cfg Config) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("admin: a Service is required")
	}
	if cfg.Token != "" && !bearer.Valid(cfg.Token) {
		return nil, errors.New("admin: the token must be a bearer token: letters, digits and -._~+/ only")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{svc: svc, cfg: cfg, log: cfg.Logger, token: sha256.Sum256([]byte(cfg.Token))}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"/users", h.findUser)
	m.HandleFunc("GET "+Prefix+"/users/{id}", h.getUser)
	m.HandleFunc("POST "+Prefix+"/users/{id}/disable", h.disableUser)
	m.HandleFunc("POST "+Prefix+"/users/{id}/enable", h.enableUser)
	m.HandleFunc("DELETE "+Prefix+"/users/{id}", h.deleteUser)
	m.HandleFunc("GET "+Prefix+"/users/{id}/sessions", h.listSessions)
	m.HandleFunc("DELETE "+Prefix+"/users/{id}/sessions/{sid}", h.revokeSession)
	m.HandleFunc("POST "+Prefix+"/revocations/issued-before", h.revokeBefore)
	m.HandleFunc("POST "+Prefix+"/revocations/users", h.revokeUsers)
	m.HandleFunc("GET "+Prefix+"/audit", h.auditEvents)
	m.HandleFunc("GET "+Prefix+"/keys", h.listKeys)
	m.HandleFunc("POST "+Prefix+"/keys/rotate", h.rotateKeys)
	m.HandleFunc("POST "+Prefix+"/keys/{kid}/withdraw", h.withdrawKey)
	m.HandleFunc("GET "+Prefix+"/clients", h.listClients)
	m.HandleFunc("POST "+Prefix+"/clients", h.createClient)
	m.HandleFunc("POST "+Prefix+"/clients/{id}/disable", h.disableClient)
	m.HandleFunc("POST "+Prefix+"/clients/{id}/enable", h.enableClient)
	m.HandleFunc("POST "+Prefix+"/clients/{id}/rotate", h.rotateClient)
	m.HandleFunc("DELETE "+Prefix+"/clients/{id}", h.deleteClient)
	// Go's profiles of the running service (go tool pprof), here so they
	// are on the admin listener and behind its token, never on the public
	// port. The command line is left out.
	m.HandleFunc("GET "+ProfilePrefix+"/", pprof.Index)
	m.HandleFunc("GET "+ProfilePrefix+"/profile", pprof.Profile)
	m.HandleFunc("GET "+ProfilePrefix+"/trace", pprof.Trace)
	m.HandleFunc("GET "+ProfilePrefix+"/symbol", pprof.Symbol)
	m.HandleFunc("POST "+ProfilePrefix+"/symbol", pprof.Symbol)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such admin endpoint: "+r.Method+" "+r.URL.Path+"; see docs/API.md, Admin API")
	})
	h.mux = m
}

// ServeHTTP checks the token, then serves the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Token != "" {
		got := sha256.Sum256([]byte(bearer.Token(r.Header.Get("Authorization"))))
		if subtle.ConstantTimeCompare(got[:], h.token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="authmesh-admin"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "admin token required: send Authorization: Bearer <ADMIN_TOKEN>")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	h.mux.ServeHTTP(w, r)
}

func toUser(u auth.User) adminwire.User {
	return adminwire.User{
		ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt, LastLoginAt: timePtr(u.LastLoginAt),
		Disabled: !u.DisabledAt.IsZero(), DisabledAt: timePtr(u.DisabledAt),
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *Handler) findUser(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := q.Get("email")
	if query == "" {
		query = q.Get("id")
	}
	if query == "" {
		writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", "give ?email=ADDRESS or ?id=USER_ID")
		return
	}
	h.user(w, r, query)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) { h.user(w, r, r.PathValue("id")) }

func (h *Handler) user(w http.ResponseWriter, r *http.Request, query string) {
	u, err := h.svc.FindUser(r.Context(), query)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUser(u))
}

func (h *Handler) disableUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.svc.DisableUser(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "user.disable", "user_id", u.ID)
	writeJSON(w, http.StatusOK, toUser(u))
}

func (h *Handler) enableUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.svc.EnableUser(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "user.enable", "user_id", u.ID)
	writeJSON(w, http.StatusOK, toUser(u))
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.svc.DeleteUser(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "user.delete", "user_id", id)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "id": id})
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.UserSessions(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]adminwire.Session, 0, len(list))
	for _, s := range list {
		out = append(out, adminwire.Session{
			ID: s.ID, DeviceType: s.DeviceType, DeviceName: s.DeviceName, IPAddress: s.IPAddress, UserAgent: s.UserAgent,
			CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request) {
	id, sid := r.PathValue("id"), r.PathValue("sid")
	if err := h.svc.RevokeUserSession(r.Context(), id, sid); err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "session.revoke", "user_id", id, "session_id", sid)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": true, "id": sid})
}

// revokeUsersRequest is the body of POST /revocations/users.
type revokeUsersRequest struct {
	// Users are the accounts (ids or emails) whose every token is revoked
	// and every session ended.
	Users []string `json:"users"`
}

// revokeUsers revokes every token and ends every session of many accounts
// at once, with bulk revocations (auth.Service.RevokeUsers). The body is
// bounded like every admin request, to about 1,500 accounts a call.
func (h *Handler) revokeUsers(w http.ResponseWriter, r *http.Request) {
	var req revokeUsersRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || len(req.Users) == 0 {
		writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", `send a JSON body {"users": ["<id or email>", …]} of at most 64 KiB (about 1,500 accounts; split larger lists)`)
		return
	}
	ids := make([]string, len(req.Users))
	for i, who := range req.Users {
		u, err := h.svc.FindUser(r.Context(), who)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ids[i] = u.ID
	}
	n, err := h.svc.RevokeUsers(r.Context(), ids)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "revoke.users", "users", len(ids), "sessions_ended", n)
	writeJSON(w, http.StatusOK, map[string]any{"users": len(ids), "sessions_ended": n})
}

// revokeBeforeRequest is the body of POST /revocations/issued-before.
type revokeBeforeRequest struct {
	// Before is an RFC 3339 time or "now" (the server's clock).
	Before string `json:"before"`
	// User, optional, limits the revocation to one account (id or email).
	User string `json:"user"`
}

func (h *Handler) revokeBefore(w http.ResponseWriter, r *http.Request) {
	var req revokeBeforeRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", `send a JSON body {"before": "<RFC 3339 time or now>", "user": "<optional id or email>"}`)
		return
	}
	t := time.Now()
	if req.Before != "now" {
		var err error
		if t, err = time.Parse(time.RFC3339, req.Before); err != nil {
			writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", `"before" must be an RFC 3339 time (2026-12-01T14:00:00Z) or "now"`)
			return
		}
	}
	userID := ""
	if req.User != "" {
		u, err := h.svc.FindUser(r.Context(), req.User)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		userID = u.ID
	}
	n, err := h.svc.RevokeIssuedBefore(r.Context(), t, userID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "revoke.issued_before", "before", t.UTC(), "user_id", userID, "sessions_ended", n)
	writeJSON(w, http.StatusOK, map[string]any{"before": t.UTC().Format(time.RFC3339), "user_id": userID, "sessions_ended": n})
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Keys == nil {
		writeError(w, http.StatusConflict, "SHARED_SECRET", "tokens are signed with a shared JWT_SECRET: there are no signing keys to list; rotate the secret instead")
		return
	}
	keys, err := h.cfg.Keys.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if keys == nil {
		keys = []Key{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Keys == nil {
		writeError(w, http.StatusConflict, "SHARED_SECRET", "tokens are signed with a shared JWT_SECRET: rotate the secret instead")
		return
	}
	kid, err := h.cfg.Keys.Rotate(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "keys.rotate", "kid", kid)
	writeJSON(w, http.StatusOK, map[string]any{"signing_kid": kid})
}

func (h *Handler) withdrawKey(w http.ResponseWriter, r *http.Request) {
	kid := r.PathValue("kid")
	if err := h.svc.WithdrawKey(r.Context(), kid); err != nil {
		h.fail(w, r, err)
		return
	}
	h.action(r, "keys.withdraw", "kid", kid)
	writeJSON(w, http.StatusOK, map[string]any{"withdrawn": true, "kid": kid})
}

// action logs an admin action and records it in the audit trail; args
// are the log's key/value pairs, the first value naming the user when the
// key is "user_id".
func (h *Handler) action(r *http.Request, name string, args ...any) {
	h.log.Warn("admin action", append([]any{"action", name, "remote", r.RemoteAddr}, args...)...)
	userID, detail := "", ""
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		if k == "user_id" {
			userID, _ = args[i+1].(string)
			continue
		}
		detail += fmt.Sprintf(" %s=%v", k, args[i+1])
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	h.svc.AdminAudit(r.Context(), name, userID, strings.TrimSpace(detail), auth.ClientInfo{IP: ip, UserAgent: r.UserAgent()})
}

func (h *Handler) auditEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", "limit must be a whole number from 1 to 1000")
			return
		}
		limit = n
	}
	userID := ""
	if who := q.Get("user"); who != "" {
		u, err := h.svc.FindUser(r.Context(), who)
		if err != nil && auth.ErrorCode(err) != auth.CodeNotFound {
			h.fail(w, r, err)
			return
		}
		// A deleted account's events outlive it: an id is used as given.
		userID = u.ID
		if err != nil {
			userID = who
		}
	}
	list, err := h.svc.AuditEvents(r.Context(), userID, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]adminwire.Event, 0, len(list))
	for _, e := range list {
		out = append(out, adminwire.Event{At: e.At, Event: e.Event, UserID: e.UserID, SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

// fail answers err: its code's status and caller-safe message; anything
// uncoded is logged and answered as an internal error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := auth.ErrorCode(err)
	status := http.StatusBadRequest
	switch code {
	case auth.CodeNotFound:
		status = http.StatusNotFound
	case auth.CodeInternal:
		status = http.StatusInternalServerError
		h.log.Error("admin: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, string(code), auth.ErrorMessage(err))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
