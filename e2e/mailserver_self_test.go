package e2e_test

import (
	"net/smtp"
	"strings"
	"testing"
)

// TestMailServer checks the harness's SMTP server on its own: it parses
// what it accepts, refuses connections while stopped, comes back on the
// same port, and counts a second delivery of one Message-ID.
func TestMailServer(t *testing.T) {
	m := startMailServer(t)
	addr := strings.TrimPrefix(m.URL(), "smtp://")
	msg := strings.ReplaceAll(`From: authmesh <no-reply@auth.test>
To: ada@example.com
Subject: =?utf-8?q?authmesh:_reset_your_password?=
Date: Tue, 01 Dec 2026 17:00:00 +0000
Message-ID: <abc@auth.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

open http://localhost:1/reset-password?token=3D_tok-EN0123456789abcdef
--b
Content-Type: text/html; charset=utf-8

<p>reset</p>
--b--
`, "\n", "\r\n")
	send := func() error {
		return smtp.SendMail(addr, nil, "no-reply@auth.test", []string{"ada@example.com"}, []byte(msg))
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	got := waitMail(t, m, "ada@example.com", subjReset)
	if path, tok := got.Link(t); path != "/reset-password" || tok != "_tok-EN0123456789abcdef" || got.MessageID != "abc@auth.test" || got.HTML != "<p>reset</p>" {
		t.Fatalf("parsed %s %s, id %q, html %q", path, tok, got.MessageID, got.HTML)
	}

	m.Stop()
	if err := send(); err == nil {
		t.Fatal("a stopped server accepted a message")
	}
	m.Start()
	if err := send(); err != nil {
		t.Fatalf("after a restart on the same port: %v", err)
	}
	if n, dup := m.Deliveries("abc@auth.test"), m.Duplicates(); n != 2 || len(dup) != 1 {
		t.Fatalf("deliveries %d, duplicates %q; want 2 and the one Message-ID", n, dup)
	}
}
