package session

import (
	"fmt"
	"sync"
	"testing"
)

// TestShardedMetricsSumToTheTotal: counts made from many goroutines,
// landing in whichever shards their stacks pick, add up exactly.
func TestShardedMetricsSumToTheTotal(t *testing.T) {
	tests := []struct {
		name       string
		goroutines int
		err        error
		result     int
	}{
		{"valid", 1, nil, resValid},
		{"valid, many goroutines", 16, nil, resValid},
		{"revoked", 16, fmt.Errorf("%w (by jti)", ErrRevoked), resRevoked},
		{"unavailable", 4, ErrNotReady, resUnavailable},
		{"invalid", 4, ErrMalformed, resInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const perGoroutine = 500
			var m metrics
			var wg sync.WaitGroup
			for g := 0; g < tt.goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perGoroutine; i++ {
						m.observe(tt.err)
					}
				}()
			}
			wg.Wait()
			for r := range resultNames {
				want := uint64(0)
				if r == tt.result {
					want = uint64(tt.goroutines * perGoroutine)
				}
				if got := m.count(r); got != want {
					t.Errorf("count(%s) = %d; want %d", resultNames[r], got, want)
				}
			}
		})
	}
}
