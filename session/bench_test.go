package session_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/authmesh/authmesh/session"
)

// BenchmarkValidateCached measures the common case: the same token seen
// again (signature check cached), with revocation checked every time. Its
// allocs/op is the caller's copy of the claims: 1.
func BenchmarkValidateCached(b *testing.B) {
	v := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	if _, err := v.ValidateAccessToken(raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.ValidateAccessToken(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCachedAudiences is the cached path for tokens carrying
// audiences: the caller's copy holds up to four of them in its one
// allocation.
func BenchmarkValidateCachedAudiences(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			aud := make([]string, n)
			for i := range aud {
				aud[i] = fmt.Sprint("service-", i)
			}
			v := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true})
			raw, _, err := audienceIssuer(b, aud).IssueAccess("user-1", "sess-1", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := v.ValidateAccessToken(raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.ValidateAccessToken(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateCachedParallel is the cached path under concurrency.
func BenchmarkValidateCachedParallel(b *testing.B) {
	v := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.ValidateAccessToken(raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkValidateColdHS256 measures a full check of a never-seen token.
func BenchmarkValidateColdHS256(b *testing.B) {
	v := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true, AccessTokenCacheTTL: -1})
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.ValidateAccessToken(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareEd25519 is the floor of an asymmetric check, for comparison
// with the token package's EdDSA verification benchmarks.
func BenchmarkBareEd25519(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte(base64.RawURLEncoding.EncodeToString(make([]byte, 200)))
	sig := ed25519.Sign(priv, msg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify")
		}
	}
}
