// Package mail composes the auth service's messages and delivers them:
// over SMTP (SMTP_URL; STARTTLS required unless the server is on
// loopback, implicit TLS for smtps://), or, without an SMTP server, as
// .eml files in a directory so the flows work on a laptop with nothing
// installed.
//
// A message has a plain-text and an HTML part (multipart/alternative,
// quoted-printable), a Message-ID that stays the same however often it is
// sent, a Date, and the product name in its subject. Nothing here logs a
// message's body: a body may carry a single-use token.
package mail
