// # Revocation feed protocol
//
// The auth service serves its revocation log at GET /v1/revocations
// (FeedPath). It serves any Source: the SQL journal in the embedded mode,
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
package revoke

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Names of the revocation feed: path, headers and SSE event types.
const (
	// FeedPath is where the auth service serves the feed.
	FeedPath = "/v1/revocations"
	// FeedCursorParam is the query parameter that may carry the cursor
	// instead of the Last-Event-ID header.
	FeedCursorParam = "cursor"
	// FeedContentType is the media type of the event stream.
	FeedContentType = "text/event-stream"

	// FeedEventSnapshot carries a Snapshot.
	FeedEventSnapshot = "snapshot"
	// FeedEventRevocation carries one Event.
	FeedEventRevocation = "revocation"
	// FeedEventSync carries a FeedSyncMessage: the client is up to date.
	FeedEventSync = "sync"
)

// headerLastEventID is the SSE resume header.
const headerLastEventID = "Last-Event-ID"

// feedRetryMillis is the reconnection delay the stream suggests.
const feedRetryMillis = 1000

// FeedSyncMessage is the data of a sync event.
type FeedSyncMessage struct {
	Cursor string `json:"cursor"`
}

// ErrFeedProtocol is returned for a stream that breaks the feed protocol.
var ErrFeedProtocol = errors.New("revoke: feed protocol error")

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	Name  string // "event" field; empty means "message"
	ID    string // "id" field of this event, if HasID
	HasID bool
	Data  []byte // "data" lines joined with '\n'
}

// sseReader decodes a text/event-stream (LF or CRLF line endings) without
// ever holding more than max bytes of one event.
type sseReader struct {
	r    *bufio.Reader
	max  int
	line []byte
}

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// readLine returns the next line without its terminator. The slice is valid
// until the next call. budget is how many bytes the line may hold.
func (d *sseReader) readLine(budget int) ([]byte, error) {
	if cap(d.line) > 64<<10 {
		d.line = nil // do not keep a huge snapshot's buffer for the stream's life
	}
	d.line = d.line[:0]
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(d.line)+len(chunk) > budget+2 { // +2: the CRLF terminator
			return nil, fmt.Errorf("%w: event longer than %d bytes", ErrFeedProtocol, d.max)
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

// next returns the next event with at least one field, skipping comments
// and empty blocks.
func (d *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []byte
	hasData, size := false, 0
	for {
		line, err := d.readLine(d.max - size)
		if err != nil {
			return sseEvent{}, err
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

// feedMessage is a decoded feed event.
type feedMessage struct {
	Name     string
	Cursor   string    // the position this message brings the client to
	Snapshot *Snapshot // FeedEventSnapshot
	Event    Event     // FeedEventRevocation
}

// decodeFeedEvent interprets one SSE event of the feed. Unknown event names
// decode to a message with only Name set. The cursor comes from the id
// field, or the data when the id is absent; a snapshot or revocation without
// any cursor is a protocol error, as is malformed JSON.
func decodeFeedEvent(ev sseEvent) (feedMessage, error) {
	m := feedMessage{Name: ev.Name}
	switch ev.Name {
	case FeedEventSnapshot:
		var s Snapshot
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return m, fmt.Errorf("%w: snapshot: %v", ErrFeedProtocol, err)
		}
		m.Snapshot, m.Cursor = &s, s.Cursor
	case FeedEventRevocation:
		if err := json.Unmarshal(ev.Data, &m.Event); err != nil {
			return m, fmt.Errorf("%w: revocation: %v", ErrFeedProtocol, err)
		}
		m.Cursor = m.Event.Cursor
	case FeedEventSync:
		var s FeedSyncMessage
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return m, fmt.Errorf("%w: sync: %v", ErrFeedProtocol, err)
		}
		m.Cursor = s.Cursor
	default:
		return m, nil
	}
	if ev.HasID && ev.ID != "" {
		m.Cursor = ev.ID
	}
	if m.Cursor == "" && ev.Name != FeedEventSync {
		return m, fmt.Errorf("%w: %s event without cursor", ErrFeedProtocol, ev.Name)
	}
	return m, nil
}

// sseWriter encodes feed events onto a buffered writer.
type sseWriter struct {
	w *bufio.Writer
}

// writeEvent writes one event. id may be empty. v is encoded as JSON on a
// single data line (encoding/json never emits a raw newline).
func (s sseWriter) writeEvent(name, id string, v any) error {
	if strings.ContainsAny(name+id, "\r\n\x00") {
		return fmt.Errorf("%w: unencodable event name or id %.40q", ErrFeedProtocol, name+" "+id)
	}
	s.w.WriteString("event: ")
	s.w.WriteString(name)
	if id != "" {
		s.w.WriteString("\nid: ")
		s.w.WriteString(id)
	}
	s.w.WriteString("\ndata: ")
	enc := json.NewEncoder(s.w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode ends the line with '\n'
		return err
	}
	_, err := s.w.WriteString("\n")
	return err
}

// writeRetry writes the reconnection delay suggestion.
func (s sseWriter) writeRetry(ms int) error {
	_, err := s.w.WriteString("retry: " + strconv.Itoa(ms) + "\n\n")
	return err
}
