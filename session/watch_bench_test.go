package session_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/session"
)

// BenchmarkCancellableRequest measures what watching a request for
// revocation adds, side by side in one run (docs/PERFORMANCE.md,
// "Cancellable requests"):
//
//	go test -run '^$' -bench CancellableRequest -benchmem -count 5 ./session/
//
// "plain" is a request behind HTTPMiddleware, "cancellable" the same
// request behind StreamingHTTPMiddleware, which also registers the request
// so that a revocation cancels its context, and unregisters it when it
// ends. The "+done" rows have a handler that also looks at
// r.Context().Done() once, as a streaming handler does. The validator is
// synced from Redis and holds revocations; each request's context is a
// child of a cancellable parent, as net/http's are.
func BenchmarkCancellableRequest(b *testing.B) {
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	v := revokedValidator(b)
	var sink string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := session.GetUserID(r.Context())
		sink = id
	})
	doneHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			return
		default:
		}
		id, _ := session.GetUserID(r.Context())
		sink = id
	})
	rows := []struct {
		name string
		h    http.Handler
	}{
		{"plain", session.HTTPMiddleware(v)(handler)},
		{"cancellable", session.StreamingHTTPMiddleware(v)(handler)},
		{"plain+done", session.HTTPMiddleware(v)(doneHandler)},
		{"cancellable+done", session.StreamingHTTPMiddleware(v)(doneHandler)},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				parent, cancel := context.WithCancel(context.Background())
				defer cancel()
				r, _ := http.NewRequestWithContext(parent, http.MethodGet, "/", nil)
				r.Header.Set("Authorization", "Bearer "+raw)
				w := discardWriter{h: http.Header{}}
				for pb.Next() {
					row.h.ServeHTTP(w, r)
				}
			})
		})
	}
	_ = sink
}

// BenchmarkCancellableCost reports what watching a request adds, measured
// side by side for hosts too loaded to compare separate rows: each of b.N
// rounds times a slice of plain requests and then a slice of cancellable
// ones on the same goroutine, and the benchmark reports the median over
// the rounds of the difference per request ("added-ns/req") and the
// plain request's own median ("plain-ns/req"). The same pair is then
// timed with a handler that looks at r.Context().Done() once, as a
// streaming handler does ("added-done-ns/req").
//
//	go test -run '^$' -bench CancellableCost -benchtime 40x ./session/
func BenchmarkCancellableCost(b *testing.B) {
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	v := revokedValidator(b)
	handler := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	plain := session.HTTPMiddleware(v)(handler)
	cancellable := session.StreamingHTTPMiddleware(v)(handler)
	doneHandler := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			b.Error("request context done")
		default:
		}
	})
	plainDone := session.HTTPMiddleware(v)(doneHandler)
	cancellableDone := session.StreamingHTTPMiddleware(v)(doneHandler)
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, _ := http.NewRequestWithContext(parent, http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+raw)
	w := discardWriter{h: http.Header{}}
	const slice = 10_000
	timeSlice := func(h http.Handler) time.Duration {
		t0 := time.Now()
		for range slice {
			h.ServeHTTP(w, r)
		}
		return time.Since(t0)
	}
	var added, addedDone, base []float64
	for b.Loop() {
		p := timeSlice(plain)
		c := timeSlice(cancellable)
		pd := timeSlice(plainDone)
		cd := timeSlice(cancellableDone)
		added = append(added, float64(c-p)/slice)
		addedDone = append(addedDone, float64(cd-pd)/slice)
		base = append(base, float64(p)/slice)
	}
	median := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	b.ReportMetric(median(added), "added-ns/req")
	b.ReportMetric(median(addedDone), "added-done-ns/req")
	b.ReportMetric(median(base), "plain-ns/req")
	b.ReportMetric(0, "ns/op")
}
