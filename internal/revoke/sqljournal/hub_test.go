package sqljournal

import (
	"sync"
	"testing"
)

func TestHubCoalescesAndNeverBlocks(t *testing.T) {
	h := NewHub()
	slow, cancelSlow := h.Subscribe() // never reads until the end
	defer cancelSlow()
	fast, cancelFast := h.Subscribe()
	defer cancelFast()
	for i := 0; i < 1000; i++ {
		h.Notify()
	}
	for name, ch := range map[string]<-chan struct{}{"slow": slow, "fast": fast} {
		select {
		case <-ch:
		default:
			t.Errorf("%s: no signal pending after Notify", name)
		}
		select {
		case <-ch:
			t.Errorf("%s: second signal pending; want notifications coalesced into one", name)
		default:
		}
	}
}

func TestHubUnsubscribe(t *testing.T) {
	h := NewHub()
	ch, cancel := h.Subscribe()
	if got := h.Len(); got != 1 {
		t.Errorf("Len: got %d; want 1", got)
	}
	cancel()
	cancel() // idempotent
	if got := h.Len(); got != 0 {
		t.Errorf("Len after cancel: got %d; want 0", got)
	}
	h.Notify()
	select {
	case <-ch:
		t.Error("signal delivered after cancel")
	default:
	}
}

func TestHubConcurrentUse(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				ch, cancel := h.Subscribe()
				h.Notify()
				<-ch // our own Notify came after Subscribe
				cancel()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				h.Notify()
			}
		}()
	}
	wg.Wait()
	if got := h.Len(); got != 0 {
		t.Errorf("Len: got %d; want 0", got)
	}
}
