package certreload_test

import (
	"crypto/x509"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/certreload"
	"github.com/authmesh/authmesh/internal/testenv"
)

// serial is the serial number of the certificate r serves now.
func serial(t *testing.T, r *certreload.Reloader) *big.Int {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber
}

// TestReload: a rotated pair is served on the next handshake; a pair that
// does not load (a truncated key, files gone) leaves the previous
// certificate serving, and the next good pair is picked up.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := testenv.NewCA(t, "test CA")
	first := ca.Issue(certFile, keyFile, "first")
	r, err := certreload.New(certFile, keyFile, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := serial(t, r); got.Cmp(first) != 0 {
		t.Fatalf("serving serial %v; want %v", got, first)
	}
	second := ca.Issue(certFile, keyFile, "second")
	if got := serial(t, r); got.Cmp(second) != 0 {
		t.Fatalf("after rotation: serving serial %v; want %v", got, second)
	}
	for _, tt := range []struct {
		name       string
		breakFiles func()
	}{
		{"key truncated", func() {
			if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"key removed", func() {
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.breakFiles()
			if got := serial(t, r); got.Cmp(second) != 0 {
				t.Fatalf("serving serial %v; want the previous %v", got, second)
			}
		})
	}
	third := ca.Issue(certFile, keyFile, "third")
	if got := serial(t, r); got.Cmp(third) != 0 {
		t.Fatalf("after repair: serving serial %v; want %v", got, third)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	testenv.NewCA(t, "test CA").Issue(certFile, keyFile, "x")
	for _, tt := range []struct {
		name, cert, key, want string
	}{
		{"no key file named", certFile, "", "both required"},
		{"missing key", certFile, filepath.Join(dir, "nope.key"), "no such file"},
		{"key is a certificate", certFile, certFile, "certreload"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := certreload.New(tt.cert, tt.key, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
