package web

import (
	"embed"
	"net/http"
	"path"
)

// ScriptPath is where the auth service serves the browser script.
const ScriptPath = "/authmesh.js"

//go:embed assets
var assets embed.FS

// contentTypes are the types of the embedded assets, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// accountCSP lets the account page load nothing but its own files and
// talk to nothing but the auth service: no inline script, no other host.
const accountCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Account serves the account page, GET /account.
func (h *Handler) Account(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", accountCSP)
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	serveAsset(w, "account.html")
}

// Asset serves the browser script (ScriptPath) and the account page's
// script and style sheet, named by the request's path.
func (h *Handler) Asset(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, path.Base(r.URL.Path))
}

func serveAsset(w http.ResponseWriter, name string) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", contentTypes[path.Ext(name)])
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Small files, revalidated on each load so that an upgrade is seen at once.
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
