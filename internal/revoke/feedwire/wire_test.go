package feedwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke"
)

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // events as name|id|data, then the final error
	}{
		{"one event", "event: sync\ndata: {}\n\n", "[sync|-|{}] EOF"},
		{"crlf", "event: a\r\nid: 7\r\ndata: x\r\n\r\n", "[a|7|x] EOF"},
		{"multi data lines", "data: a\ndata:b\ndata\n\n", "[|-|a\nb\n] EOF"},
		{"one leading space stripped", "data:  two\n\n", "[|-| two] EOF"},
		{"comments and blank blocks skipped", ": hi\n\n\n: again\nevent: e\n\n", "[e|-|] EOF"},
		{"id with NUL ignored", "id: a\x00b\nevent: e\n\n", "[e|-|] EOF"},
		{"unknown fields ignored", "retry: 10\nfoo: bar\n\nevent: e\nfoo\n\n", "[e|-|] EOF"},
		{"truncated event", "event: e\ndata: x", "[] unexpected EOF"},
		{"unterminated block", "event: e\ndata: x\n", "[] EOF"},
		{"too long", "data: " + strings.Repeat("x", 100) + "\n\n", "[] too long"},
		{"too long in total", strings.Repeat("data: xxxxxxxxxx\n", 10) + "\n", "[] too long"},
		{"keep-alives do not add up", strings.Repeat(": keep-alive\n\n", 100) + "event: e\n\n", "[e|-|] EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewReader(strings.NewReader(tc.in), 64)
			var got []string
			var err error
			for {
				var ev Frame
				if ev, err = d.Next(); err != nil {
					break
				}
				id := "-"
				if ev.HasID {
					id = ev.ID
				}
				got = append(got, ev.Name+"|"+id+"|"+string(ev.Data))
			}
			errText := err.Error()
			if errors.Is(err, ErrProtocol) {
				errText = "too long"
			}
			if s := fmt.Sprintf("%v %s", got, errText); s != tc.want {
				t.Errorf("got %q; want %q", s, tc.want)
			}
		})
	}
}

func TestFeedEventsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := Writer{W: bw}
	snap := revoke.Snapshot{Cursor: "2", Entries: []revoke.Entry{{Kind: revoke.KindUser, ID: "u<&>\n\"x", Before: 5, Expires: 9, At: 1}}}
	ev := revoke.Event{Entry: revoke.Entry{Kind: revoke.KindSession, ID: "s\u2028", Expires: 9}, Cursor: "3"}
	for _, err := range []error{
		w.WriteRetry(RetryMillis),
		w.WriteEvent(EventSnapshot, snap.Cursor, snap),
		w.WriteEvent(EventRevocation, ev.Cursor, ev),
		w.WriteEvent(EventSync, "", SyncMessage{Cursor: "3"}),
		bw.Flush(),
	} {
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := w.WriteEvent(EventSync, "1\n2", nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("writeEvent with a newline in the id: got %v; want ErrFeedProtocol", err)
	}
	d := NewReader(&buf, 1<<20)
	var got []Message
	for {
		e, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		m, err := Decode(e)
		if err != nil {
			t.Fatalf("decodeFeedEvent: %v", err)
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("got %d events; want 3", len(got))
	}
	if describe(got[0]) != "snapshot:2" || got[0].Snapshot.Entries[0] != snap.Entries[0] {
		t.Errorf("snapshot: got %s %+v; want snapshot:2 %+v", describe(got[0]), got[0].Snapshot, snap)
	}
	if describe(got[1]) != "revocation:3" || got[1].Event != ev {
		t.Errorf("revocation: got %s %+v; want revocation:3 %+v", describe(got[1]), got[1].Event, ev)
	}
	if describe(got[2]) != "sync:3" {
		t.Errorf("sync: got %s; want sync:3", describe(got[2]))
	}
}

// describe names a message by its event and cursor.
func describe(m Message) string { return m.Name + ":" + m.Cursor }

func TestDecodeRevocationsEvent(t *testing.T) {
	evs := []revoke.Event{
		{Entry: revoke.Entry{Kind: revoke.KindSession, ID: "a", Expires: 9}, Cursor: "4"},
		{Entry: revoke.Entry{Kind: revoke.KindUser, ID: "b", Before: 3, Expires: 9}, Cursor: "5"},
	}
	tests := []struct {
		name, id, data string
		want           string // cursor and event count, or "error"
	}{
		{"batch", "5", `{"cursor":"5","events":[{"kind":"sid","id":"a","exp":9,"cursor":"4"},{"kind":"sub","id":"b","before":3,"exp":9,"cursor":"5"}]}`, "5/2"},
		{"cursor from the data", "", `{"cursor":"5","events":[{"kind":"sid","id":"a","exp":9,"cursor":"5"}]}`, "5/1"},
		{"no events", "5", `{"cursor":"5","events":[]}`, "error"},
		{"malformed", "5", `{"events":`, "error"},
		{"no cursor", "", `{"events":[{"kind":"sid","id":"a","exp":9}]}`, "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(Frame{Name: EventRevocations, ID: tc.id, HasID: tc.id != "", Data: []byte(tc.data)})
			got := fmt.Sprintf("%s/%d", m.Cursor, len(m.Events))
			if err != nil {
				got = "error"
			}
			if got != tc.want {
				t.Errorf("Decode = %s (%v); want %s", got, err, tc.want)
			}
			if tc.name == "batch" && (m.Events[0] != evs[0] || m.Events[1] != evs[1]) {
				t.Errorf("events = %+v; want %+v", m.Events, evs)
			}
		})
	}
}
