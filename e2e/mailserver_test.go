package e2e_test

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authmesh/authmesh/internal/testenv"
)

// mailServer is a real SMTP server (go-smtp) on a loopback port that the
// auth service delivers to through SMTP_URL. It keeps every message it
// accepts, parsed, and counts deliveries per Message-ID, so a test sees a
// duplicate. Stop and Start take it down and bring it back on the same
// port, as an SMTP outage would.
type mailServer struct {
	t    *testing.T
	addr string // 127.0.0.1:port, the same across restarts

	mu   sync.Mutex
	srv  *smtp.Server // nil while stopped
	got  []mailMessage
	byID map[string]int // deliveries per Message-ID
}

// mailMessage is one message the server accepted, parsed.
type mailMessage struct {
	From, To   string // the SMTP envelope's sender and recipient
	MessageID  string // without angle brackets
	Subject    string // decoded
	Header     mail.Header
	Text, HTML string // the decoded parts
	Data       []byte // the message as received
	At         time.Time
}

// startMailServer serves SMTP on a free loopback port until the test ends.
func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	m := &mailServer{t: t, addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), byID: map[string]int{}}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// URL is the SMTP_URL of the server (loopback: no STARTTLS needed).
func (m *mailServer) URL() string { return "smtp://" + m.addr }

// env is the auth service's mail settings for this server.
func (m *mailServer) env() map[string]string {
	return map[string]string{"SMTP_URL": m.URL(), "MAIL_FROM": "authmesh <no-reply@auth.test>"}
}

// Start serves on the server's port; after a Stop it waits for the port
// to be free again.
func (m *mailServer) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv != nil {
		return
	}
	var ln net.Listener
	testenv.WaitFor(m.t, "the SMTP port "+m.addr+" to be free", func() bool {
		var err error
		ln, err = net.Listen("tcp", m.addr)
		return err == nil
	})
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSession{m: m}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	m.srv = srv
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the listener and every open connection: from now on the
// auth service's deliveries fail until Start.
func (m *mailServer) Stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Messages returns every message accepted so far, oldest first.
func (m *mailServer) Messages() []mailMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailMessage(nil), m.got...)
}

// Deliveries is how often the message with Message-ID id was accepted.
func (m *mailServer) Deliveries(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id]
}

// Duplicates lists the Message-IDs accepted more than once.
func (m *mailServer) Duplicates() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, n := range m.byID {
		if n > 1 {
			ids = append(ids, fmt.Sprintf("%s (%d times)", id, n))
		}
	}
	return ids
}

// Find returns the messages to rcpt whose subject contains subject.
func (m *mailServer) Find(rcpt, subject string) []mailMessage {
	var out []mailMessage
	for _, msg := range m.Messages() {
		if strings.EqualFold(msg.To, rcpt) && strings.Contains(msg.Subject, subject) {
			out = append(out, msg)
		}
	}
	return out
}

// The subjects of the auth service's messages (docs/API.md, "Email verification and password reset").
const (
	subjVerify          = "authmesh: confirm your email address"
	subjReset           = "authmesh: reset your password"
	subjPasswordNote    = "authmesh: your password was changed"
	subjRegisterNote    = "authmesh: someone tried to register with your address"
	subjEmailChangeNote = "authmesh: your email address is being changed"
)

// linkRE finds an account link in a message's text part.
var linkRE = regexp.MustCompile(`(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)`)

// Link returns the path (/verify-email or /reset-password) and the token
// of the message's link, failing the test when it has none. The test
// calls the path on the auth service it started, whatever PUBLIC_URL the
// message names.
func (msg mailMessage) Link(t *testing.T) (path, token string) {
	t.Helper()
	sm := linkRE.FindStringSubmatch(msg.Text)
	if sm == nil {
		t.Fatalf("message %q to %s has no account link in its text part:\n%s", msg.Subject, msg.To, msg.Text)
	}
	return "/" + sm[1], sm[2]
}

// mailSession records one SMTP transaction.
type mailSession struct {
	m        *mailServer
	from, to string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.to = from, ""
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.to != "" {
		return errors.New("one recipient per message expected") // the auth service sends one
	}
	s.to = to
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := parseMail(data)
	if err != nil {
		s.m.t.Errorf("the auth service sent a message that does not parse: %v\n%s", err, data)
		return &smtp.SMTPError{Code: 554, Message: err.Error()}
	}
	msg.From, msg.To, msg.At = s.from, s.to, time.Now()
	s.m.mu.Lock()
	s.m.got = append(s.m.got, msg)
	s.m.byID[msg.MessageID]++
	s.m.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", "" }
func (s *mailSession) Logout() error { return nil }

// parseMail reads an RFC 5322 message with a multipart/alternative body
// (text/plain and text/html, any transfer encoding the standard library
// decodes).
func parseMail(data []byte) (mailMessage, error) {
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		return mailMessage{}, err
	}
	msg := mailMessage{Header: m.Header, Data: data}
	msg.MessageID = strings.Trim(m.Header.Get("Message-Id"), "<> ")
	if msg.MessageID == "" {
		return msg, errors.New("no Message-ID")
	}
	if _, err := m.Header.Date(); err != nil {
		return msg, fmt.Errorf("Date: %w", err)
	}
	if msg.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		return msg, fmt.Errorf("Subject: %w", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return msg, fmt.Errorf("Content-Type %q: want multipart/alternative (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			return msg, err
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return msg, err
		}
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			msg.Text = string(b)
		case "text/html":
			msg.HTML = string(b)
		}
	}
	if msg.Text == "" || msg.HTML == "" {
		return msg, errors.New("want a text/plain and a text/html part")
	}
	return msg, nil
}
