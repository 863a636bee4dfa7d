package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/authmesh/authmesh/internal/admin/adminwire"
	"github.com/authmesh/authmesh/internal/auth"
)

// Clients manages service clients (OAuth 2.0 client credentials);
// *auth.Clients implements it. Disable, Rotate and Delete revoke the
// client's outstanding tokens through the service's revocation path, so
// running inside the auth service they reach every validator at the
// latency of a logout (in feed mode too, where a separate process would
// wait for the journal's poll).
type Clients interface {
	Create(ctx context.Context, id string, audiences, scopes []string) (secret string, err error)
	List(ctx context.Context) ([]auth.ServiceClient, error)
	Disable(ctx context.Context, id string) error
	Enable(ctx context.Context, id string) error
	Rotate(ctx context.Context, id string) (secret string, err error)
	Delete(ctx context.Context, id string) error
}

var _ Clients = (*auth.Clients)(nil)

func toClient(c auth.ServiceClient) adminwire.Client {
	out := adminwire.Client{ID: c.ID, Audiences: c.Audiences, Scopes: c.Scopes, Disabled: c.Disabled, CreatedAt: c.CreatedAt}
	if out.Audiences == nil {
		out.Audiences = []string{}
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return out
}

// clients answers 409 NO_CLIENTS when the handler has no Clients, and
// otherwise returns them.
func (h *Handler) clients(w http.ResponseWriter) (Clients, bool) {
	if h.cfg.Clients == nil {
		writeError(w, http.StatusConflict, "NO_CLIENTS", "this service does not manage service clients")
		return nil, false
	}
	return h.cfg.Clients, true
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request) {
	cs, ok := h.clients(w)
	if !ok {
		return
	}
	list, err := cs.List(r.Context())
	if err != nil {
		h.failClient(w, r, "", err)
		return
	}
	out := make([]adminwire.Client, 0, len(list))
	for _, c := range list {
		out = append(out, toClient(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request) {
	cs, ok := h.clients(w)
	if !ok {
		return
	}
	var req adminwire.CreateClient
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", `send a JSON body {"id": "<client id>", "audiences": ["<service>", ...], "scopes": ["<scope>", ...]}`)
		return
	}
	secret, err := cs.Create(r.Context(), req.ID, req.Audiences, req.Scopes)
	if err != nil {
		h.failClient(w, r, req.ID, err)
		return
	}
	h.action(r, "client.create", "client_id", req.ID, "audiences", strings.Join(req.Audiences, ","), "scopes", strings.Join(req.Scopes, ","))
	out := toClient(auth.ServiceClient{ID: req.ID, Audiences: req.Audiences, Scopes: req.Scopes})
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) disableClient(w http.ResponseWriter, r *http.Request) {
	h.clientAction(w, r, "disable", func(cs Clients, id string) error { return cs.Disable(r.Context(), id) })
}

func (h *Handler) enableClient(w http.ResponseWriter, r *http.Request) {
	h.clientAction(w, r, "enable", func(cs Clients, id string) error { return cs.Enable(r.Context(), id) })
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request) {
	h.clientAction(w, r, "delete", func(cs Clients, id string) error { return cs.Delete(r.Context(), id) })
}

// clientAction runs do on the client of the path, records the action and
// answers {"id": ID, "<action>d": true}.
func (h *Handler) clientAction(w http.ResponseWriter, r *http.Request, action string, do func(Clients, string) error) {
	cs, ok := h.clients(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := do(cs, id); err != nil {
		h.failClient(w, r, id, err)
		return
	}
	h.action(r, "client."+action, "client_id", id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, action + "d": true})
}

func (h *Handler) rotateClient(w http.ResponseWriter, r *http.Request) {
	cs, ok := h.clients(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	secret, err := cs.Rotate(r.Context(), id)
	if err != nil {
		h.failClient(w, r, id, err)
		return
	}
	h.action(r, "client.rotate", "client_id", id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "rotated": true, "client_secret": secret})
}

// failClient answers an error of Clients: unknown id 404, id taken 409,
// a malformed definition 400 with what is wrong; anything else is
// internal.
func (h *Handler) failClient(w http.ResponseWriter, r *http.Request, id string, err error) {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		writeError(w, http.StatusNotFound, string(auth.CodeNotFound), "no service client "+quote(id))
	case errors.Is(err, auth.ErrClientExists):
		writeError(w, http.StatusConflict, "CLIENT_EXISTS", "a service client "+quote(id)+" exists already: pick another id, or rotate its secret")
	case errors.Is(err, auth.ErrInvalidClientSpec):
		// The message says what is wrong with the operator's input.
		writeError(w, http.StatusBadRequest, string(auth.CodeBadUserInput), strings.TrimPrefix(err.Error(), "auth: "))
	default:
		h.fail(w, r, err)
	}
}

// quote shows an operator's input in a message, bounded.
func quote(s string) string {
	if len(s) > 130 {
		s = s[:130] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
