package server

import (
	"fmt"
	"path/filepath"

	"github.com/authmesh/authmesh/internal/mail"
)

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
