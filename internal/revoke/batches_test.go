package revoke_test

import (
	"fmt"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke"
)

func TestBatches(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []int // batch sizes
	}{
		{0, nil},
		{1, []int{1}},
		{revoke.MaxBatch, []int{revoke.MaxBatch}},
		{revoke.MaxBatch + 1, []int{revoke.MaxBatch, 1}},
		{2*revoke.MaxBatch + 7, []int{revoke.MaxBatch, revoke.MaxBatch, 7}},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			entries := make([]revoke.Entry, tc.n)
			for i := range entries {
				entries[i] = revoke.Entry{Kind: revoke.KindToken, ID: fmt.Sprint("jti-", i), Expires: 2000}
			}
			if tc.n > 0 {
				entries[0].At = 5 // an entry's own time is kept
			}
			var sizes []int
			next := 0
			for batch := range revoke.Batches(entries, 42) {
				sizes = append(sizes, len(batch))
				for _, e := range batch {
					if e.ID != entries[next].ID {
						t.Fatalf("entry %d is %q, want %q", next, e.ID, entries[next].ID)
					}
					wantAt := int64(42)
					if next == 0 {
						wantAt = 5
					}
					if e.At != wantAt || e.V != revoke.ProtocolVersion {
						t.Fatalf("entry %d: At %d V %d, want At %d V %d", next, e.At, e.V, wantAt, revoke.ProtocolVersion)
					}
					next++
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.want) {
				t.Fatalf("batch sizes %v, want %v", sizes, tc.want)
			}
			for i, e := range entries {
				if e.V != 0 || (i > 0 && e.At != 0) {
					t.Fatalf("the caller's entry %d was modified: %+v", i, e)
				}
			}
		})
	}
}

func TestBatchesStopsWhenTheLoopBreaks(t *testing.T) {
	entries := make([]revoke.Entry, 3*revoke.MaxBatch)
	n := 0
	for range revoke.Batches(entries, 1) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d batches after a break, want 1", n)
	}
}
