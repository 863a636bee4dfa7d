package revoketest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// BenchPropagation is the loop of the propagation benchmarks: for each of
// b.N token revocations it calls revokeFn and waits until applied yields
// the entry's id, then reports the p50 and p99 of those waits in µs. It
// returns the id of the last revocation, for a final check of the set.
func BenchPropagation(b *testing.B, revokeFn func(context.Context, revoke.Entry) error, applied <-chan string) (last string) {
	b.Helper()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Unix()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		last = fmt.Sprintf("bench-%d", i)
		start := time.Now()
		if err := revokeFn(ctx, revoke.Entry{Kind: revoke.KindToken, ID: last, Expires: exp}); err != nil {
			b.Fatal(err)
		}
		for got := ""; got != last; {
			select {
			case got = <-applied:
			case <-time.After(10 * time.Second):
				b.Fatalf("revocation %s not applied", last)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
	return last
}
