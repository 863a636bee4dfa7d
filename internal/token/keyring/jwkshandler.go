package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/authmesh/authmesh/internal/token"
)

// DefaultJWKSMaxAge is the Cache-Control max-age of the JWKS when the source
// does not say otherwise. It is well below the KeyRing's default PrePublish
// (1h), so every cache sees a new key long before it signs.
const DefaultJWKSMaxAge = 5 * time.Minute

// JWKSSource is a key source that can publish its public keys.
type JWKSSource interface {
	// JWKS returns the RFC 7517 JWK Set of the currently published keys.
	JWKS() ([]byte, error)
}

// Both key sources of the auth service publish a JWKS: a Ring its keys,
// token.HMACKeys the empty set.
var (
	_ JWKSSource = (*Ring)(nil)
	_ JWKSSource = (*token.HMACKeys)(nil)
)

// jwksMaxAger is implemented by sources that bound how long their JWKS may
// be cached.
type jwksMaxAger interface {
	JWKSMaxAge() time.Duration
}

// JWKSHandler serves src's JWK Set (mount it at jwks.Path) with
// Content-Type application/json, a Cache-Control max-age (the source's
// JWKSMaxAge if it has one, else DefaultJWKSMaxAge) and an ETag honouring
// If-None-Match. Only GET and HEAD are allowed.
func JWKSHandler(src JWKSSource) http.Handler {
	maxAge := DefaultJWKSMaxAge
	if m, ok := src.(jwksMaxAger); ok {
		maxAge = m.JWKSMaxAge()
	}
	cacheControl := "public, max-age=" + strconv.Itoa(int(maxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := src.JWKS()
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", cacheControl)
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
