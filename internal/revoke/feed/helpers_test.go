package feed

import (
	"testing"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
)

// newTestJournalStore returns a journal store over j: the Source most feed
// tests serve.
func newTestJournalStore(t testing.TB, j revoke.Journal, cfg sqljournal.Config) *sqljournal.Store {
	t.Helper()
	s, err := sqljournal.New(j, cfg)
	if err != nil {
		t.Fatalf("sqljournal.New: %v", err)
	}
	return s
}

// describe names a message by its event and cursor.
func describe(m feedwire.Message) string { return m.Name + ":" + m.Cursor }
