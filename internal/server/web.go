package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/authmesh/authmesh/internal/origin"
	"github.com/authmesh/authmesh/internal/web"
)

// loadWeb reads the cookie transport's settings: COOKIE_TRANSPORT,
// COOKIE_SAMESITE, COOKIE_DOMAIN and ALLOWED_ORIGINS.
func (c *Config) loadWeb(getenv func(string) string) error {
	switch v := strings.ToLower(strings.TrimSpace(getenv("COOKIE_TRANSPORT"))); v {
	case "":
	case "on", "true", "1":
		c.CookieTransport = true
	case "off", "false", "0":
		c.CookieTransport = false
	default:
		return fmt.Errorf("COOKIE_TRANSPORT=%q must be on or off", v)
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("COOKIE_SAMESITE"))); v {
	case "":
	case "lax":
		c.CookieSameSite = http.SameSiteLaxMode
	case "strict":
		c.CookieSameSite = http.SameSiteStrictMode
	case "none":
		c.CookieSameSite = http.SameSiteNoneMode
	default:
		return fmt.Errorf("COOKIE_SAMESITE=%q must be Lax, Strict or None", v)
	}
	c.CookieDomain = strings.TrimSpace(getenv("COOKIE_DOMAIN"))
	c.AllowedOrigins = origin.Split(getenv("ALLOWED_ORIGINS"))
	if _, err := origin.New(c.AllowedOrigins); err != nil {
		return fmt.Errorf("ALLOWED_ORIGINS: %w", err)
	}
	return nil
}

// secureCookies reports whether the cookies are marked Secure: whenever
// PUBLIC_URL is https.
func (c Config) secureCookies() bool {
	return strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}

// originPolicy is ALLOWED_ORIGINS plus PUBLIC_URL's origin, the service's
// own as browsers see it behind a proxy.
func (c Config) originPolicy() (*origin.Policy, error) {
	list := append([]string(nil), c.AllowedOrigins...)
	if u, err := url.Parse(c.PublicURL); err == nil && c.PublicURL != "" {
		list = append(list, u.Scheme+"://"+u.Host)
	}
	return origin.New(list)
}

// newWeb builds the cookie transport's handler, or nil when
// COOKIE_TRANSPORT is off.
func (s *Server) newWeb(policy *origin.Policy) (*web.Handler, error) {
	if !s.cfg.CookieTransport {
		return nil, nil
	}
	client, err := s.clientResolver()
	if err != nil {
		return nil, err
	}
	return web.New(web.Config{
		Service: s.svc, Origins: policy, ClientInfo: client, Logger: s.log,
		Cookies: web.Cookies{
			Domain: s.cfg.CookieDomain, SameSite: s.cfg.CookieSameSite, Secure: s.cfg.secureCookies(),
			RefreshTTL: s.cfg.RefreshTokenTTL,
		},
	})
}
