package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The two dialects share one numbering: change N is one pair of files with
// the same name, numbered 1, 2, 3... with no gap (the rule is in doc.go).
// A migration added for one dialect only, two changes that took the same
// number, or a number skipped by a rebase fails here, not in production.
func TestMigrationsShareOneNumbering(t *testing.T) {
	dialects := []string{"postgres", "sqlite"}
	files := map[string][]string{}
	for _, d := range dialects {
		entries, err := os.ReadDir(filepath.Join("migrations", d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			files[d] = append(files[d], e.Name())
		}
		slices.Sort(files[d])
	}
	if !slices.Equal(files["postgres"], files["sqlite"]) {
		t.Fatalf("migrations differ between dialects:\n postgres: %v\n sqlite:   %v\nadd each change to both, under the same name", files["postgres"], files["sqlite"])
	}
	for i, name := range files["postgres"] {
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || rest == ".sql" || !strings.HasSuffix(rest, ".sql") {
			t.Errorf("%s: want NNNN_name.sql", name)
			continue
		}
		if v != i+1 {
			t.Errorf("%s: got number %d; want %d (numbers run 1, 2, 3... with no gap or repeat)", name, v, i+1)
		}
		for _, d := range dialects {
			b, err := os.ReadFile(filepath.Join("migrations", d, name))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(b)) == "" {
				t.Errorf("migrations/%s/%s is empty", d, name)
			}
		}
	}
}
