package sqljournal

import "sync"

// Hub is an in-process broadcaster of "something new may be in the log"
// signals. Each subscriber owns a channel with a buffer of one: Notify never
// blocks, and any number of notifications made while a subscriber is busy
// coalesce into a single pending value. A slow subscriber therefore never
// delays a revocation, and subscribers must re-read the log (Source.Since)
// after each signal rather than count signals.
//
// A Hub is safe for concurrent use. The zero value is not usable; call
// NewHub.
type Hub struct {
	mu   sync.RWMutex
	subs map[chan struct{}]struct{}
}

// NewHub returns a Hub with no subscribers.
func NewHub() *Hub {
	return &Hub{subs: make(map[chan struct{}]struct{})}
}

// Subscribe registers a subscriber. The returned channel receives a value
// whenever Notify is called after Subscribe returned (coalesced); it is never
// closed. The returned function ends the subscription; it is idempotent.
func (h *Hub) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.mu.Unlock()
		})
	}
}

// Notify signals every subscriber without blocking.
func (h *Hub) Notify() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending: coalesce
		}
	}
}

// Len returns the number of current subscribers.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}
