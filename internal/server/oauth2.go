package server

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/authmesh/authmesh/internal/auth"
)

// tokenPath is the OAuth 2.0 token endpoint (RFC 6749 §3.2); it serves
// the client credentials grant (§4.4) to service clients.
const tokenPath = "/oauth2/token"

// oauth2Error is an RFC 6749 §5.2 error response.
type oauth2Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// oauth2Token serves POST /oauth2/token with grant_type=client_credentials.
// The client authenticates by HTTP Basic (RFC 6749 §2.3.1, form-encoded
// id and secret) or by client_id and client_secret in the form, not both;
// it may name the audience it wants ("audience", or RFC 8707 "resource")
// and the scopes ("scope").
func (s *Server) oauth2Token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.oauth2Fail(w, http.StatusBadRequest, "invalid_request", "the body must be an application/x-www-form-urlencoded form of at most 16 KiB")
		return
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			s.oauth2Fail(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return
		}
	}
	switch grant := form.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		s.oauth2Fail(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		s.oauth2Fail(w, http.StatusBadRequest, "unsupported_grant_type", "this endpoint serves grant_type=client_credentials only")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || form.Get("client_secret") != "" {
			s.oauth2Fail(w, http.StatusBadRequest, "invalid_request", "authenticate the client one way: HTTP Basic with form-encoded id and secret, or client_id and client_secret in the body")
			return
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		s.oauth2InvalidClient(w)
		return
	}
	audience, resource := form.Get("audience"), form.Get("resource")
	if audience != "" && resource != "" && audience != resource {
		s.oauth2Fail(w, http.StatusBadRequest, "invalid_request", "audience and resource name different services; send one")
		return
	}
	grant, err := s.clients.Token(r.Context(), id, secret, cmp.Or(audience, resource), strings.Fields(form.Get("scope")))
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrInvalidClient):
		s.oauth2InvalidClient(w)
		return
	case errors.Is(err, auth.ErrInvalidScope):
		s.oauth2Fail(w, http.StatusBadRequest, "invalid_scope", "a requested scope is not allowed for this client")
		return
	case errors.Is(err, auth.ErrInvalidTarget):
		s.oauth2Fail(w, http.StatusBadRequest, "invalid_target", "name one audience this client is allowed (parameter audience)")
		return
	case errors.Is(err, context.Canceled):
		return
	default:
		s.log.Error("oauth2 token: internal error", "client_id", id, "err", err)
		s.oauth2Fail(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": grant.AccessToken,
		"token_type":   "Bearer",
		"expires_in":   int64(grant.ExpiresIn.Seconds()),
		"scope":        grant.Scope,
	})
}

// oauth2InvalidClient answers a failed client authentication (RFC 6749
// §5.2): 401 with a Basic challenge. It never says which part was wrong.
func (s *Server) oauth2InvalidClient(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="authmesh", charset="UTF-8"`)
	s.oauth2Fail(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
}

func (s *Server) oauth2Fail(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, oauth2Error{Code: code, Description: description})
}
