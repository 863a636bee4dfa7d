package password

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestContextEndsWhileWaiting fills the concurrency bound and checks that
// Hash, Verify and VerifyDummy give up when their context ends.
func TestContextEndsWhileWaiting(t *testing.T) {
	h, err := New(Config{Params: Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	h.sem <- struct{}{} // every slot taken
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash: got %v; want context.DeadlineExceeded", err)
	}
	if _, _, err := h.Verify(ctx, "pw", h.dummy); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify: got %v; want context.DeadlineExceeded", err)
	}
	h.VerifyDummy(ctx, "pw") // returns instead of blocking forever

	// Once the slot frees, a waiting Hash proceeds.
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "pw")
		done <- err
	}()
	<-h.sem
	if err := <-done; err != nil {
		t.Errorf("Hash after release: %v", err)
	}
}
