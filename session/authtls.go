package session

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// authClient fills HTTPClient: the default client, or one trusting only
// the certificate authorities of AuthCAFile.
func (c *Config) authClient() error {
	if c.AuthCAFile == "" {
		if c.HTTPClient == nil {
			c.HTTPClient = &http.Client{}
		}
		return nil
	}
	if c.HTTPClient != nil {
		return errors.New("session: AuthCAFile and HTTPClient are both set; set the CA in HTTPClient's transport, or drop HTTPClient")
	}
	for _, u := range strings.Split(c.AuthURL, ",") {
		if !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("session: AuthCAFile is set but AuthURL %q is not https://", u)
		}
	}
	pem, err := os.ReadFile(c.AuthCAFile)
	if err != nil {
		return fmt.Errorf("session: AuthCAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("session: AuthCAFile %s holds no PEM certificate", c.AuthCAFile)
	}
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return errors.New("session: AuthCAFile needs http.DefaultTransport to be an *http.Transport; set HTTPClient instead")
	}
	t = t.Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.HTTPClient = &http.Client{Transport: t}
	return nil
}
