//go:build unix

package feed

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
)

// BenchmarkFanout measures the feed's fan-out: N streams open on a real
// HTTP server over loopback, each read by a raw reader that only counts
// revocation events; one op is one revocation delivered to every stream.
// ns/op is the time until the last stream read it (server and readers share
// the machine), ns/stream that divided by N: the per-stream cost of one
// event, which bounds the streams one event reaches within a latency
// budget. cpu-ns/stream is the CPU time the process (server and readers)
// spent per stream per event.
//
// The burst sub-benchmarks revoke 20 entries back to back per op, as a
// logout everywhere of a user with many sessions does; their per-stream
// figures are per event.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) { benchFanout(b, n, 1) })
	}
	b.Run("streams=1000/burst=20", func(b *testing.B) { benchFanout(b, 1000, 20) })
}

func benchFanout(b *testing.B, n, burst int) {
	store := newTestJournalStore(b, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(b, store, Config{MaxStreams: n + 10, MaxStreamsPerClient: n + 10, Heartbeat: time.Hour}, "")
	w := &fanWatch{done: make(chan struct{}, 1)}
	ready := make(chan error, n)
	for range n {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			b.Fatalf("dial: %v (raise ulimit -n)", err)
		}
		b.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /v1/revocations HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
			b.Fatal(err)
		}
		go w.count(c, ready)
	}
	for range n {
		select {
		case err := <-ready:
			if err != nil {
				b.Fatal(err)
			}
		case <-time.After(time.Minute):
			b.Fatal("streams did not open within a minute")
		}
	}
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Unix()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w.target.Store(int64(i+1) * int64(n*burst))
		for j := range burst {
			if _, err := store.Revoke(ctx, revoke.Entry{Kind: revoke.KindToken, ID: fmt.Sprintf("fan-%d-%d", i, j), Expires: exp}); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("op %d: %d of %d events read", i, w.seen.Load()-int64(i*n*burst), n*burst)
		}
	}
	cpu := processCPU(b) - cpu0
	events := float64(b.N) * float64(n*burst) // stream-events delivered
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/stream")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/stream")
}

// processCPU is the user+system CPU time this process has used: server
// and readers, which share the machine's cores.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fanWatch counts the revocation events every stream read, and signals
// done when the count reaches target.
type fanWatch struct {
	seen, target atomic.Int64
	done         chan struct{}
}

// count reads one stream: it reports the snapshot on ready, then counts
// every revocation event.
func (w *fanWatch) count(c net.Conn, ready chan<- error) {
	r := bufio.NewReaderSize(c, 16<<10)
	opened := false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if !opened {
				ready <- err
			}
			return
		}
		switch {
		case !opened && bytes.HasPrefix(line, []byte("event: snapshot")):
			opened = true
			ready <- nil
		case bytes.HasPrefix(line, []byte("event: revocation")):
			if w.seen.Add(1) == w.target.Load() {
				select {
				case w.done <- struct{}{}:
				default:
				}
			}
		}
	}
}
