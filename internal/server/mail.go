package server

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/mail"
)

// composer adapts mail.Compose to auth.Composer: the account flows' letters
// from MAIL_FROM.
type composer struct{ from string }

var _ auth.Composer = composer{}

func (c composer) Compose(l auth.Letter, now time.Time) (auth.Mail, error) {
	env, err := mail.Compose(c.from, mail.Message{To: l.To, Subject: l.Subject, Text: l.Text, HTML: l.HTML}, now)
	if err != nil {
		return auth.Mail{}, err
	}
	return auth.Mail{ID: env.ID, From: env.From, To: env.To, Subject: env.Subject, Data: env.Data}, nil
}

// openMail builds the mail sender (SMTP when SMTP_URL is set, else .eml
// files in DATA_DIR/mail) and the outbox loop that delivers what the
// store's outbox holds.
func (s *Server) openMail() error {
	var sender mail.Sender
	if s.cfg.SMTPURL != "" {
		c, err := mail.ParseSMTPURL(s.cfg.SMTPURL)
		if err != nil {
			return fmt.Errorf("SMTP_URL: %w", err)
		}
		sender = mail.NewSMTP(c)
	} else {
		d, err := mail.NewDir(filepath.Join(s.cfg.DataDir, "mail"), s.log)
		if err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
		sender = d
	}
	ob, err := mail.NewOutbox(s.db, sender, mail.OutboxConfig{MinBackoff: s.cfg.MailRetryBackoff, Logger: s.log, Metrics: s.registry})
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	s.outbox = ob
	return nil
}
