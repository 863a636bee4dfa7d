package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Product is the name every subject starts with.
const Product = "authmesh"

// Message is a message to one recipient, before composition.
type Message struct {
	To      string // the recipient's address, e.g. "ada@example.com"
	Subject string // without the product name, which Compose adds
	Text    string // the plain-text part
	HTML    string // the HTML part (a complete, self-contained document)
}

// Envelope is a composed message, ready to send and to store: the same
// bytes (and so the same Message-ID) go out on every attempt.
type Envelope struct {
	ID      string // the Message-ID, without angle brackets
	From    string // the bare sender address (SMTP MAIL FROM)
	To      string // the bare recipient address (SMTP RCPT TO)
	Subject string // the full subject, product name included
	Data    []byte // the RFC 5322 message, CRLF line endings
}

// ErrAddress: an address does not parse as one RFC 5322 address.
var ErrAddress = errors.New("mail: invalid address")

// ErrHeader: a subject holds a line break, which would let its text
// forge headers.
var ErrHeader = errors.New("mail: line break in a header value")

// NewID returns a fresh Message-ID in domain: 128 random bits, so that
// no two messages share one.
func NewID(domain string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + domain
}

// Compose builds the message m from from (an address, optionally with a
// display name: "authmesh <no-reply@example.com>"), dated now. The
// Message-ID's domain is the sender's.
func Compose(from string, m Message, now time.Time) (Envelope, error) {
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: from %q: %v", ErrAddress, from, err)
	}
	rcpt, err := mail.ParseAddress(m.To)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: to %q: %v", ErrAddress, m.To, err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return Envelope{}, ErrHeader
	}
	domain := sender.Address[strings.LastIndexByte(sender.Address, '@')+1:]
	env := Envelope{ID: NewID(domain), From: sender.Address, To: rcpt.Address, Subject: Product + ": " + m.Subject}

	var buf bytes.Buffer
	body := multipart.NewWriter(&buf)
	hdr := []struct{ k, v string }{
		{"From", sender.String()},
		{"To", rcpt.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", env.Subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + env.ID + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "multipart/alternative;\r\n boundary=\"" + body.Boundary() + "\""}, // folded: lines stay under 78
	}
	var head bytes.Buffer
	for _, h := range hdr {
		head.WriteString(h.k + ": " + h.v + "\r\n")
	}
	head.WriteString("\r\n")
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		w, err := body.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return Envelope{}, fmt.Errorf("mail: compose: %w", err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(crlf(part.content))); err != nil {
			return Envelope{}, fmt.Errorf("mail: compose: %w", err)
		}
		if err := qp.Close(); err != nil {
			return Envelope{}, fmt.Errorf("mail: compose: %w", err)
		}
	}
	if err := body.Close(); err != nil {
		return Envelope{}, fmt.Errorf("mail: compose: %w", err)
	}
	env.Data = append(head.Bytes(), buf.Bytes()...)
	return env, nil
}

// crlf gives s CRLF line endings, as a message's text must have.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}
