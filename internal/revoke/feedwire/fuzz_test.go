package feedwire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke"
)

// FuzzDecodeEvent feeds arbitrary bytes to the SSE decoder and the feed
// event decoder, and applies what they accept to a Set, as feedsync.Sync does.
// Nothing may panic, hang, exceed the event bound or apply an event that
// has no cursor. The seed corpus is in testdata/fuzz/FuzzDecodeEvent.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte("event: snapshot\nid: 3\ndata: {\"cursor\":\"3\",\"entries\":[{\"kind\":\"sub\",\"id\":\"u\",\"before\":5,\"exp\":9}]}\n\n"))
	f.Add([]byte("event: revocation\r\nid: 4\r\ndata: {\"kind\":\"jti\",\"id\":\"t\",\"exp\":9,\"cursor\":\"4\"}\r\n\r\n"))
	f.Add([]byte(": comment\nevent: sync\ndata: {\"cursor\":\"4\"}\n\nevent: future\ndata: x\n\n"))
	const max = 4 << 10
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := NewReader(bytes.NewReader(in), max)
		set := revoke.NewSet()
		for i := 0; ; i++ {
			if i > len(in) {
				t.Fatalf("decoded %d events from %d bytes", i, len(in))
			}
			ev, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("next: unexpected error type %v", err)
				}
				return
			}
			if len(ev.Data) > max {
				t.Fatalf("event data of %d bytes passed the %d-byte bound", len(ev.Data), max)
			}
			m, err := Decode(ev)
			if err != nil {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("decodeFeedEvent: unexpected error type %v", err)
				}
				continue
			}
			switch m.Name {
			case EventSnapshot:
				if m.Cursor == "" || m.Snapshot == nil {
					t.Fatalf("snapshot accepted without cursor: %+v", m)
				}
				set.ApplyAll(m.Snapshot.Entries)
			case EventRevocation:
				if m.Cursor == "" {
					t.Fatalf("revocation accepted without cursor: %+v", m)
				}
				set.Apply(m.Event.Entry)
			}
		}
	})
}
