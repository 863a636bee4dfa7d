package auth

import (
	"bytes"
	htmltemplate "html/template"
	"strconv"
	texttemplate "text/template"
	"time"
)

// The letters the account flows send. Each has a plain-text and an HTML
// part written from the same data; the HTML is self-contained (no
// external images, styles or scripts). A link carries a single-use token,
// so nothing here is ever logged.

// The subjects, without the product name composition puts first.
const (
	SubjectVerifyEmail     = "confirm your email address"
	SubjectResetPassword   = "reset your password"
	SubjectPasswordChanged = "your password was changed"
	SubjectRegisterAttempt = "someone tried to register with your address"
	SubjectEmailChanging   = "your email address is being changed"
)

// The paths of the pages the links open (served by internal/web).
const (
	VerifyEmailPath   = "/verify-email"
	ResetPasswordPath = "/reset-password"
)

// letterData is what a letter's templates see.
type letterData struct {
	Email    string // the account's address (or the new one)
	Link     string // the action link, if any
	TTL      string // how long the link works, e.g. "24 hours"
	NewEmail string // the address an email change moves to
	Time     string // when it happened (UTC)
}

type letterTemplate struct {
	subject string
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

func newLetter(subject, text, body string) letterTemplate {
	return letterTemplate{
		subject: subject,
		text:    texttemplate.Must(texttemplate.New(subject).Parse(text)),
		html: htmltemplate.Must(htmltemplate.New(subject).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>authmesh</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 36em">
` + body + `
<p style="color: #666; font-size: small">This message was sent by authmesh for {{.Email}}.</p>
</body></html>
`)),
	}
}

var (
	letterVerifyEmail = newLetter(SubjectVerifyEmail, `Hello,

please confirm that {{.Email}} is your email address by opening this link:

{{.Link}}

The link works once, for {{.TTL}}. If you did not create an account, ignore this message.
`, `<p>Hello,</p>
<p>please confirm that <b>{{.Email}}</b> is your email address:</p>
<p><a href="{{.Link}}">Confirm my email address</a></p>
<p>Or copy this link into your browser: {{.Link}}</p>
<p>The link works once, for {{.TTL}}. If you did not create an account, ignore this message.</p>`)

	letterResetPassword = newLetter(SubjectResetPassword, `Hello,

someone (hopefully you) asked to reset the password of the account {{.Email}}. To choose a new password, open this link:

{{.Link}}

The link works once, for {{.TTL}}. If you did not ask for it, ignore this message: your password stays as it is.
`, `<p>Hello,</p>
<p>someone (hopefully you) asked to reset the password of the account <b>{{.Email}}</b>.</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
<p>Or copy this link into your browser: {{.Link}}</p>
<p>The link works once, for {{.TTL}}. If you did not ask for it, ignore this message: your password stays as it is.</p>`)

	letterPasswordChanged = newLetter(SubjectPasswordChanged, `Hello,

the password of the account {{.Email}} was changed at {{.Time}}, and every device was signed out.

If you did not do this, reset your password at once and check the account's sessions.
`, `<p>Hello,</p>
<p>the password of the account <b>{{.Email}}</b> was changed at {{.Time}}, and every device was signed out.</p>
<p>If you did not do this, reset your password at once and check the account's sessions.</p>`)

	letterRegisterAttempt = newLetter(SubjectRegisterAttempt, `Hello,

someone tried at {{.Time}} to create a new account with {{.Email}}, which already has one. Nothing was changed.

If it was you, log in instead, or reset your password if you forgot it. Otherwise you can ignore this message.
`, `<p>Hello,</p>
<p>someone tried at {{.Time}} to create a new account with <b>{{.Email}}</b>, which already has one. Nothing was changed.</p>
<p>If it was you, log in instead, or reset your password if you forgot it. Otherwise you can ignore this message.</p>`)

	letterConfirmNewEmail = newLetter(SubjectVerifyEmail, `Hello,

please confirm that {{.Email}} is the new email address of your account by opening this link:

{{.Link}}

The account keeps its current address until you do. The link works once, for {{.TTL}}. If you did not ask for this change, ignore this message.
`, `<p>Hello,</p>
<p>please confirm that <b>{{.Email}}</b> is the new email address of your account:</p>
<p><a href="{{.Link}}">Confirm my new email address</a></p>
<p>Or copy this link into your browser: {{.Link}}</p>
<p>The account keeps its current address until you do. The link works once, for {{.TTL}}. If you did not ask for this change, ignore this message.</p>`)

	letterEmailChanging = newLetter(SubjectEmailChanging, `Hello,

someone signed in to the account {{.Email}} asked at {{.Time}} to change its address to {{.NewEmail}}. The change takes effect when the new address is confirmed from a link mailed to it.

If you did not ask for this, change your password at once: that also cancels the pending change.
`, `<p>Hello,</p>
<p>someone signed in to the account <b>{{.Email}}</b> asked at {{.Time}} to change its address to <b>{{.NewEmail}}</b>. The change takes effect when the new address is confirmed from a link mailed to it.</p>
<p>If you did not ask for this, change your password at once: that also cancels the pending change.</p>`)
)

// render writes the letter to to from d.
func (l letterTemplate) render(to string, d letterData) (Letter, error) {
	var text, html bytes.Buffer
	if err := l.text.Execute(&text, d); err != nil {
		return Letter{}, err
	}
	if err := l.html.Execute(&html, d); err != nil {
		return Letter{}, err
	}
	return Letter{To: to, Subject: l.subject, Text: text.String(), HTML: html.String()}, nil
}

// ttlText says how long a link works, in words: "24 hours", "30 minutes".
func ttlText(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return d.String()
}

func plural(n int, unit string) string {
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}
