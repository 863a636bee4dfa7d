package session

import (
	"fmt"
	"net/url"
	"strings"
)

// checkAuthURLs validates AuthURL, a comma-separated list of the auth
// service's replicas, and rewrites it without spaces or trailing slashes.
func (c *Config) checkAuthURLs() error {
	if c.AuthURL == "" {
		return nil
	}
	var urls []string
	for _, raw := range strings.Split(c.AuthURL, ",") {
		raw = strings.TrimRight(strings.TrimSpace(raw), "/")
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("session: AuthURL %q must be an http(s) URL like http://localhost:8080 (or several, comma-separated)", raw)
		}
		if c.usesAuthURL() && u.Scheme == "http" && !loopback(u.Hostname()) && !c.AllowInsecureAuthURL {
			return fmt.Errorf("%w: %s", ErrInsecureAuthURL, raw)
		}
		urls = append(urls, raw)
	}
	c.AuthURL = strings.Join(urls, ",")
	return nil
}

// authURLs returns the URLs of path at each AuthURL: the first, and the
// alternates a client fails over to.
func (c Config) authURLs(path string) (first string, alternates []string) {
	for i, base := range strings.Split(c.AuthURL, ",") {
		if i == 0 {
			first = base + path
			continue
		}
		alternates = append(alternates, base+path)
	}
	return first, alternates
}
