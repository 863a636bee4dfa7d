package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Dir writes each message as an .eml file in a directory instead of
// sending it: the embedded default (DATA_DIR/mail) when no SMTP_URL is
// set. Any mail client opens the files.
type Dir struct {
	path string
	log  *slog.Logger
}

var _ Sender = (*Dir)(nil)

// NewDir returns a sender writing into path, created (mode 0700) when the
// first message is written, so a deployment that never sends mail never
// touches it; it logs each file to log (default slog.Default()).
func NewDir(path string, log *slog.Logger) (*Dir, error) {
	if path == "" {
		return nil, errors.New("mail: NewDir: empty path")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Dir{path: path, log: log}, nil
}

// Send writes env to <dir>/<time>-<Message-ID>.eml (mode 0600), replacing
// the file of an earlier attempt of the same message, and logs the
// recipient, subject and file: never the body, which may hold a token.
func (d *Dir) Send(ctx context.Context, env Envelope) error {
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return fmt.Errorf("mail: create %s: %w", d.path, err)
	}
	name := time.Now().UTC().Format("20060102T150405Z") + "-" + safeName(env.ID) + ".eml"
	if matches, _ := filepath.Glob(filepath.Join(d.path, "*-"+safeName(env.ID)+".eml")); len(matches) > 0 {
		name = filepath.Base(matches[0])
	}
	path := filepath.Join(d.path, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, env.Data, 0o600); err != nil {
		return fmt.Errorf("mail: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("mail: write %s: %w", path, err)
	}
	d.log.InfoContext(ctx, "mail: written to a file (no SMTP_URL set)", "to", env.To, "subject", env.Subject, "file", path)
	return nil
}

// safeName keeps the characters of a Message-ID a file name can hold.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '@':
			return r
		}
		return '_'
	}, id)
}
