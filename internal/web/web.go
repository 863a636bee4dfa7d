package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/origin"
)

// Service is what the cookie endpoints need of the auth use cases;
// *auth.Service implements it. Errors are *auth.Error values.
type Service interface {
	Refresh(ctx context.Context, refreshToken string, client auth.ClientInfo) (auth.TokenPair, error)
	Authenticate(ctx context.Context, bearerToken string) (auth.Caller, error)
	Logout(ctx context.Context, c auth.Caller) error
}

// Config configures a Handler.
type Config struct {
	// Service runs refresh and logout. Required.
	Service Service
	// Cookies writes and reads the cookies.
	Cookies Cookies
	// Origins are the allowed origins besides the service's own
	// (ALLOWED_ORIGINS). Default none.
	Origins *origin.Policy
	// ClientInfo describes a request's client. Default: the peer address
	// and User-Agent.
	ClientInfo func(*http.Request) auth.ClientInfo
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the cookie transport's endpoints, the browser script and
// the account page, and guards cookie-mode requests. It is safe for
// concurrent use.
type Handler struct {
	cfg Config
}

// New returns the handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("web: nil Service")
	}
	if cfg.Origins == nil {
		cfg.Origins, _ = origin.New(nil)
	}
	if cfg.ClientInfo == nil {
		cfg.ClientInfo = func(r *http.Request) auth.ClientInfo {
			ip, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				ip = r.RemoteAddr
			}
			return auth.ClientInfo{IP: ip, UserAgent: r.UserAgent()}
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg}, nil
}

// Cookies returns the handler's cookie settings.
func (h *Handler) Cookies() Cookies { return h.cfg.Cookies }

// Guard refuses, with 403 and a message saying what to fix, a cookie-mode
// request (origin.TransportHeader) that does not come from the service's
// own origin or an allowed one. Cookie mode is what lets a request to the
// GraphQL API be authenticated by cookie or set the session cookies (login
// included), so every such request is checked, whatever its method;
// bearer requests pass untouched.
func (h *Handler) Guard(next http.Handler) http.Handler {
	return h.guard(next, false)
}

// GuardCookies is Guard for the endpoints that always use the cookies
// (refresh, logout): a request without the transport header is refused
// too, as a simple cross-site form would send it.
func (h *Handler) GuardCookies(next http.Handler) http.Handler {
	return h.guard(next, true)
}

func (h *Handler) guard(next http.Handler, always bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if always || origin.CookieMode(r) {
			if err := h.cfg.Origins.Check(r); err != nil {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": csrfMessage(err)})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// csrfMessage is the client-facing text of a failed origin check.
func csrfMessage(err error) string {
	return "cross-site request refused: " + strings.TrimPrefix(strings.TrimPrefix(err.Error(), "origin: "), "cross-site request refused: ")
}

// Refresh serves POST /auth/refresh: it exchanges the refresh cookie for a
// new pair of cookies and answers {"expiresAt": ...}. Without a usable
// refresh cookie it answers 401 and clears both cookies.
func (h *Handler) Refresh(w http.ResponseWriter, r *http.Request) {
	if !h.cookieRequest(w, r) {
		return
	}
	raw := h.cfg.Cookies.Refresh(r)
	if raw == "" {
		h.cfg.Cookies.Clear(w)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no refresh cookie: sign in again"})
		return
	}
	p, err := h.cfg.Service.Refresh(r.Context(), raw, h.cfg.ClientInfo(r))
	if err != nil {
		h.fail(w, r, "refresh", err)
		return
	}
	h.cfg.Cookies.Set(w, p.Token, p.RefreshToken, p.ExpiresAt)
	writeJSON(w, http.StatusOK, map[string]string{"expiresAt": p.ExpiresAt.UTC().Format(time.RFC3339)})
}

// Logout serves POST /auth/logout: it ends the session of the cookies (an
// access cookie that has lapsed is renewed from the refresh cookie first,
// to learn the session) and clears both cookies. Ending a session that has
// already ended succeeds, so a retry does too.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if !h.cookieRequest(w, r) {
		return
	}
	ctx := r.Context()
	access := h.cfg.Cookies.Access(r)
	if access == "" {
		if raw := h.cfg.Cookies.Refresh(r); raw != "" {
			if p, err := h.cfg.Service.Refresh(ctx, raw, h.cfg.ClientInfo(r)); err == nil {
				access = p.Token
			}
		}
	}
	h.cfg.Cookies.Clear(w)
	if access == "" {
		writeJSON(w, http.StatusOK, map[string]bool{"loggedOut": true})
		return
	}
	c, err := h.cfg.Service.Authenticate(ctx, access)
	if err != nil && !errors.Is(err, auth.ErrSessionEnded) {
		if auth.ErrorCode(err) == auth.CodeUnauthenticated {
			writeJSON(w, http.StatusOK, map[string]bool{"loggedOut": true})
			return
		}
		h.fail(w, r, "logout", err)
		return
	}
	if err := h.cfg.Service.Logout(ctx, c); err != nil {
		h.fail(w, r, "logout", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"loggedOut": true})
}

// cookieRequest refuses a request to a cookie endpoint that is not a POST;
// GuardCookies has checked its origin and transport header.
func (h *Handler) cookieRequest(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return false
	}
	return true
}

// fail answers a failed refresh or logout: 401 (cookies cleared) when the
// credentials are bad, 429 when rate limited, 500 otherwise.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	switch auth.ErrorCode(err) {
	case auth.CodeUnauthenticated, auth.CodeRefreshReused, auth.CodeBadUserInput:
		h.cfg.Cookies.Clear(w)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": auth.ErrorMessage(err)})
	case auth.CodeRateLimited:
		var e *auth.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", retrySeconds(e.RetryAfter))
		}
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": auth.ErrorMessage(err)})
	default:
		h.cfg.Logger.ErrorContext(r.Context(), "web: "+op+" failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}
}

// retrySeconds is a Retry-After value: d in whole seconds, rounded up.
func retrySeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
