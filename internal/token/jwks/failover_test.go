package jwks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/jwks"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// TestRemoteKeysFailsOver: a fetch the first replica fails is served by an
// alternate; the next fetch starts at the replica that answered; when every
// replica fails, the error names each.
func TestRemoteKeysFailsOver(t *testing.T) {
	ring := tokentest.NewKeySource(t, token.AlgEdDSA, nil, discardLogger())
	a, b := newJWKSServer(t, mergeJWKS(t, ring)), newJWKSServer(t, mergeJWKS(t, ring))
	a.fail.Store(true)
	remote, err := jwks.NewRemoteKeys(jwks.Config{
		URL: a.URL + jwks.Path, AlternateURLs: []string{b.URL + jwks.Path},
		RefreshInterval: time.Hour, MinRefetchInterval: time.Hour, Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Start(context.Background()); err != nil {
		t.Fatalf("Start with replica A down: %v", err)
	}
	v, err := token.NewVerifier(remote, token.VerifierConfig{Audience: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(issueWith(t, ring), token.TypeAccess); err != nil {
		t.Fatalf("token verified with replica B's keys: %v", err)
	}
	hitsA := a.hits.Load()
	if err := remote.Refresh(context.Background()); err != nil || a.hits.Load() != hitsA {
		t.Fatalf("second fetch: err %v, %d more requests to A; want B asked first", err, a.hits.Load()-hitsA)
	}
	b.fail.Store(true)
	err = remote.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), a.URL) || !strings.Contains(err.Error(), b.URL) {
		t.Fatalf("every replica down: got %v; want an error naming both", err)
	}
}
