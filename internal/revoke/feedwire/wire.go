// Package feedwire is the revocation feed's wire format: its names, the
// Server-Sent Events encoding and the decoding of its events, shared by the
// feed server (package feed) and its client (package feedsync).
//
// # Revocation feed protocol
//
// The auth service serves its revocation log at GET /v1/revocations
// (Path). It serves any Source: the SQL journal in the embedded mode,
// the Redis stream in the distributed one. Cursors are opaque strings.
//
// Without "Accept: text/event-stream" the answer is the snapshot as JSON,
// with Cache-Control: no-store:
//
//	{"cursor":"42","entries":[{"kind":"sid","id":"…","exp":1700000000,"at":…},…]}
//
// With "Accept: text/event-stream" the answer is a Server-Sent Events stream
// (Content-Type: text/event-stream, Cache-Control: no-cache,
// X-Accel-Buffering: no) that starts with "retry: 1000". A client resumes by
// sending the cursor of the last event it applied in Last-Event-ID (or as
// ?cursor=). If the server can serve the events after that cursor, the stream
// starts with them, followed by one sync event; otherwise (no cursor, a
// malformed or expired one) it starts with a snapshot. Each event is flushed
// as soon as it is written:
//
//	event: snapshot
//	id: <cursor>
//	data: {"cursor":"<cursor>","entries":[<Entry>…]}
//
//	event: revocation
//	id: <cursor>
//	data: {"kind":…,"id":…,"before":…,"exp":…,"at":…,"cursor":"<cursor>"}
//
//	event: sync
//	data: {"cursor":"<cursor>"}
//
// A client that sends ?batch=1 (BatchParam) may also receive, for several
// consecutive events (a bulk revocation), one event carrying them all, in
// order, whose cursor is the last one's:
//
//	event: revocations
//	id: <cursor of the last>
//	data: {"cursor":"<cursor of the last>","events":[<Event>…]}
//
// A server sends it only to clients that asked, since an older client would
// ignore the unknown event name and so miss its entries; a server that
// predates it ignores the parameter and sends one event each.
//
// A snapshot is the complete live state: the client adds every entry to its
// set. A revocation is one new entry. A sync is sent every heartbeat (5s by
// default) after the server has re-read its source, and once after a resumed
// backlog: it tells the client it holds everything up to <cursor> as of now,
// which is how validators measure staleness. If the source can no longer
// serve a slow stream (its log was trimmed), the server ends the stream and
// the client's resume gets a snapshot.
//
// Every event sent after a snapshot is one that happened after it, in order;
// applying the snapshot and then the events yields the current state, and
// applying an entry twice is harmless. Unknown event names are ignored by
// clients, so the protocol can grow. No event ever contains a raw token:
// entries carry only identifiers (jti, sid, sub). A server over its client
// limit answers 503 with Retry-After.
package feedwire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/authmesh/authmesh/internal/revoke"
)

// Names of the revocation feed: path, headers and SSE event types.
const (
	// FeedPath is where the auth service serves the feed.
	Path = "/v1/revocations"
	// FeedCursorParam is the query parameter that may carry the cursor
	// instead of the Last-Event-ID header.
	CursorParam = "cursor"
	// FeedContentType is the media type of the event stream.
	ContentType = "text/event-stream"

	// FeedEventSnapshot carries a Snapshot.
	EventSnapshot = "snapshot"
	// FeedEventRevocation carries one Event.
	EventRevocation = "revocation"
	// FeedEventSync carries a FeedSyncMessage: the client is up to date.
	EventSync = "sync"
	// EventRevocations carries a BatchMessage: consecutive events, sent
	// only to clients that asked with BatchParam.
	EventRevocations = "revocations"
	// BatchParam is the query parameter ("batch=1") by which a client
	// asks for EventRevocations.
	BatchParam = "batch"
)

// BatchMessage is the data of a revocations event: consecutive events, in
// order; Cursor is the last one's.
type BatchMessage struct {
	Cursor string         `json:"cursor"`
	Events []revoke.Event `json:"events"`
}

// HeaderLastEventID is the SSE resume header.
const HeaderLastEventID = "Last-Event-ID"

// RetryMillis is the reconnection delay the stream suggests.
const RetryMillis = 1000

// FeedSyncMessage is the data of a sync event.
type SyncMessage struct {
	Cursor string `json:"cursor"`
}

// ErrFeedProtocol is returned for a stream that breaks the feed protocol.
var ErrProtocol = errors.New("revoke: feed protocol error")

// Frame is one dispatched Server-Sent Event.
type Frame struct {
	Name  string // "event" field; empty means "message"
	ID    string // "id" field of this event, if HasID
	HasID bool
	Data  []byte // "data" lines joined with '\n'
}

// Reader decodes a text/event-stream (LF or CRLF line endings) without
// ever holding more than max bytes of one event.
type Reader struct {
	r    *bufio.Reader
	max  int
	line []byte
}

// NewReader returns a Reader of r that refuses events over max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// readLine returns the next line without its terminator. The slice is valid
// until the next call. budget is how many bytes the line may hold.
func (d *Reader) readLine(budget int) ([]byte, error) {
	if cap(d.line) > 64<<10 {
		d.line = nil // do not keep a huge snapshot's buffer for the stream's life
	}
	d.line = d.line[:0]
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(d.line)+len(chunk) > budget+2 { // +2: the CRLF terminator
			return nil, fmt.Errorf("%w: event longer than %d bytes", ErrProtocol, d.max)
		}
		d.line = append(d.line, chunk...)
		switch {
		case err == nil:
			l := d.line[:len(d.line)-1]
			return bytes.TrimSuffix(l, []byte{'\r'}), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(d.line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// Next returns the next event with at least one field, skipping comments
// and empty blocks.
func (d *Reader) Next() (Frame, error) {
	var ev Frame
	var data []byte
	hasData, size := false, 0
	for {
		line, err := d.readLine(d.max - size)
		if err != nil {
			return Frame{}, err
		}
		if len(line) == 0 {
			if hasData || ev.Name != "" || ev.HasID {
				ev.Data = data
				return ev, nil
			}
			size = 0 // only comments so far (keep-alives): nothing held
			continue
		}
		size += len(line)
		if line[0] == ':' {
			continue // comment
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte{' '})
		}
		switch string(field) {
		case "event":
			ev.Name = string(value)
		case "data":
			if !hasData {
				// Take the line's buffer rather than copy it: a snapshot
				// is one data line of up to max bytes.
				data, hasData, d.line = value, true, nil
				continue
			}
			data = append(append(data, '\n'), value...)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.ID, ev.HasID = string(value), true
			}
		} // "retry" and unknown fields: ignored
	}
}

// Message is a decoded feed event.
type Message struct {
	Name     string
	Cursor   string           // the position this message brings the client to
	Snapshot *revoke.Snapshot // FeedEventSnapshot
	Event    revoke.Event     // FeedEventRevocation
	Events   []revoke.Event   // EventRevocations
}

// Decode interprets one SSE event of the feed. Unknown event names
// decode to a message with only Name set. The cursor comes from the id
// field, or the data when the id is absent; a snapshot or revocation without
// any cursor is a protocol error, as is malformed JSON.
func Decode(ev Frame) (Message, error) {
	m := Message{Name: ev.Name}
	switch ev.Name {
	case EventSnapshot:
		var s revoke.Snapshot
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return m, fmt.Errorf("%w: snapshot: %v", ErrProtocol, err)
		}
		m.Snapshot, m.Cursor = &s, s.Cursor
	case EventRevocation:
		if err := json.Unmarshal(ev.Data, &m.Event); err != nil {
			return m, fmt.Errorf("%w: revocation: %v", ErrProtocol, err)
		}
		m.Cursor = m.Event.Cursor
	case EventRevocations:
		var b BatchMessage
		if err := json.Unmarshal(ev.Data, &b); err != nil {
			return m, fmt.Errorf("%w: revocations: %v", ErrProtocol, err)
		}
		if len(b.Events) == 0 {
			return m, fmt.Errorf("%w: revocations event without events", ErrProtocol)
		}
		m.Events, m.Cursor = b.Events, b.Cursor
	case EventSync:
		var s SyncMessage
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return m, fmt.Errorf("%w: sync: %v", ErrProtocol, err)
		}
		m.Cursor = s.Cursor
	default:
		return m, nil
	}
	if ev.HasID && ev.ID != "" {
		m.Cursor = ev.ID
	}
	if m.Cursor == "" && ev.Name != EventSync {
		return m, fmt.Errorf("%w: %s event without cursor", ErrProtocol, ev.Name)
	}
	return m, nil
}

// Writer encodes feed events onto a buffered writer.
type Writer struct {
	// W receives the encoded events; the caller flushes it.
	W *bufio.Writer
}

// WriteEvent writes one event. id may be empty. v is encoded as JSON on a
// single data line (encoding/json never emits a raw newline).
func (s Writer) WriteEvent(name, id string, v any) error {
	if strings.ContainsAny(name+id, "\r\n\x00") {
		return fmt.Errorf("%w: unencodable event name or id %.40q", ErrProtocol, name+" "+id)
	}
	s.W.WriteString("event: ")
	s.W.WriteString(name)
	if id != "" {
		s.W.WriteString("\nid: ")
		s.W.WriteString(id)
	}
	s.W.WriteString("\ndata: ")
	enc := json.NewEncoder(s.W)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode ends the line with '\n'
		return err
	}
	_, err := s.W.WriteString("\n")
	return err
}

// WriteRetry writes the reconnection delay suggestion.
func (s Writer) WriteRetry(ms int) error {
	_, err := s.W.WriteString("retry: " + strconv.Itoa(ms) + "\n\n")
	return err
}
