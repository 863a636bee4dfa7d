package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Sender delivers composed messages. Implementations are safe for
// concurrent use.
type Sender interface {
	// Send delivers env, or returns why it could not; a nil error means
	// the server (or the directory) has accepted the message.
	Send(ctx context.Context, env Envelope) error
}

// DefaultSMTPTimeout bounds one delivery when ctx has no earlier deadline.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig is an SMTP server to deliver through, parsed from SMTP_URL.
type SMTPConfig struct {
	Host     string // host name or IP, without port
	Port     string
	Implicit bool   // smtps://: TLS from the first byte
	Username string // for AUTH PLAIN, sent only over TLS (or to loopback)
	Password string
	// TLS, when set, is the base of the TLS configuration (tests give
	// their own roots); ServerName is always Host.
	TLS *tls.Config
	// Dial opens the connection; default a net.Dialer. Tests use it to
	// reach a local server under another name.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// LocalName is sent in EHLO; default "localhost".
	LocalName string
}

// ErrSMTPURL: SMTP_URL is not smtp://[user:pass@]host[:port] or smtps://...
var ErrSMTPURL = errors.New("mail: SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")

// ErrNoSTARTTLS: a server not on loopback did not offer STARTTLS, so the
// message (and any password) would cross the network in clear.
var ErrNoSTARTTLS = errors.New("mail: the SMTP server does not offer STARTTLS, which is required unless it is on loopback; use smtps:// if it speaks implicit TLS")

// ParseSMTPURL reads SMTP_URL: smtp:// (port 587 by default, STARTTLS) or
// smtps:// (port 465, implicit TLS), with optional user:password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return SMTPConfig{}, ErrSMTPURL
	}
	c := SMTPConfig{Host: u.Hostname(), Port: u.Port()}
	switch u.Scheme {
	case "smtp":
		c.Port = firstNonEmpty(c.Port, "587")
	case "smtps":
		c.Port, c.Implicit = firstNonEmpty(c.Port, "465"), true
	default:
		return SMTPConfig{}, ErrSMTPURL
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// SMTP delivers over one fresh connection per message.
type SMTP struct {
	cfg SMTPConfig
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns the sender of cfg.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	return &SMTP{cfg: cfg}
}

// Send delivers env: implicit TLS for smtps://; otherwise STARTTLS when
// the server offers it, and a refusal (ErrNoSTARTTLS) when it does not
// and is not on loopback. Errors never quote the message.
func (s *SMTP) Send(ctx context.Context, env Envelope) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSMTPTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(s.cfg.Host, s.cfg.Port)
	conn, err := s.cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.cfg.Implicit {
		conn = tls.Client(conn, s.tlsConfig())
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %s: %w", addr, err)
	}
	defer c.Close()
	if err := s.deliver(c, env); err != nil {
		return fmt.Errorf("mail: %s: %w", addr, err)
	}
	return nil
}

func (s *SMTP) deliver(c *smtp.Client, env Envelope) error {
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return err
	}
	if !s.cfg.Implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		} else if !loopback(s.cfg.Host) {
			return ErrNoSTARTTLS
		}
	}
	if s.cfg.Username != "" {
		// PlainAuth itself refuses to send the password in clear to a
		// host other than localhost.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(env.From); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(env.To); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(env.Data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return c.Quit()
}

func (s *SMTP) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLS != nil {
		c = s.cfg.TLS.Clone()
	}
	c.ServerName = s.cfg.Host
	return c
}

// loopback reports whether host is localhost or a loopback IP address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
