package mail_test

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	authmail "github.com/authmesh/authmesh/internal/mail"
)

// parsed is a composed message read back by the standard library.
type parsed struct {
	header     mail.Header
	text, html string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v; want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	p := parsed{header: m.Header}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := r.NextPart() // decodes quoted-printable itself
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		switch ct := part.Header.Get("Content-Type"); ct {
		case "text/plain; charset=utf-8":
			p.text = string(b)
		case "text/html; charset=utf-8":
			p.html = string(b)
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}

func TestCompose(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	long := strings.Repeat("a very long line that must be wrapped by quoted-printable ", 5)
	m := authmail.Message{
		To:      "Ada Lovelace <ada@example.com>",
		Subject: "Vérifiez votre adresse",
		Text:    "Hello Ada,\n\nopen http://localhost:8080/verify-email?token=abc=def\n" + long,
		HTML:    "<!doctype html><p>Hello Ada, <a href=\"http://localhost:8080/verify-email?token=abc=def\">verify</a></p>",
	}
	env, err := authmail.Compose("authmesh <no-reply@auth.example>", m, now)
	if err != nil {
		t.Fatal(err)
	}
	if env.From != "no-reply@auth.example" || env.To != "ada@example.com" {
		t.Errorf("envelope %s -> %s; want the bare addresses", env.From, env.To)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}@auth\.example$`).MatchString(env.ID) {
		t.Errorf("Message-ID %q; want 128 random bits at the sender's domain", env.ID)
	}
	for _, line := range strings.SplitAfter(string(env.Data), "\n") {
		if len(line) > 78+2 {
			t.Errorf("line of %d bytes: %q", len(line), line)
		}
		if strings.HasSuffix(line, "\n") && !strings.HasSuffix(line, "\r\n") {
			t.Errorf("bare LF in %q", line)
		}
	}
	p := parse(t, env.Data)
	if got := p.header.Get("Message-Id"); got != "<"+env.ID+">" {
		t.Errorf("Message-ID header %q; want <%s>", got, env.ID)
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date %q: %v, %v; want %v", p.header.Get("Date"), d, err, now)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil || subject != "authmesh: Vérifiez votre adresse" || env.Subject != subject {
		t.Errorf("Subject %q (%v), envelope %q; want the product name and the subject", subject, err, env.Subject)
	}
	if got := p.header.Get("To"); !strings.Contains(got, "ada@example.com") {
		t.Errorf("To %q", got)
	}
	if want := strings.ReplaceAll(m.Text, "\n", "\r\n"); p.text != want {
		t.Errorf("text part %q; want %q", p.text, want)
	}
	if p.html != m.HTML {
		t.Errorf("HTML part %q; want %q", p.html, m.HTML)
	}
	again, _ := authmail.Compose("no-reply@auth.example", m, now)
	if again.ID == env.ID {
		t.Error("two messages share a Message-ID")
	}
}

func TestComposeRefuses(t *testing.T) {
	ok := authmail.Message{To: "ada@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}
	for _, tc := range []struct {
		name string
		from string
		m    authmail.Message
		want error
	}{
		{"bad sender", "not an address", ok, authmail.ErrAddress},
		{"bad recipient", "a@b.c", authmail.Message{To: "ada@", Subject: "s"}, authmail.ErrAddress},
		{"two recipients", "a@b.c", authmail.Message{To: "a@b.c, d@e.f", Subject: "s"}, authmail.ErrAddress},
		{"header injection", "a@b.c", authmail.Message{To: "ada@example.com", Subject: "hi\r\nBcc: eve@example.com"}, authmail.ErrHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := authmail.Compose(tc.from, tc.m, time.Now()); !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
		})
	}
}
