package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DocRow is one row of a reference table in the documentation: the name in
// its first column and the text of its default column.
type DocRow struct {
	Name    string
	Default string
}

// Literal returns the default when it is one literal value written as code
// (`8080`, `5/15m`), the form a test can feed back as configuration; ok is
// false for prose such as "unset" or a value that depends on another
// setting.
func (r DocRow) Literal() (v string, ok bool) {
	d := strings.TrimSpace(r.Default)
	if len(d) < 2 || d[0] != '`' || d[len(d)-1] != '`' {
		return "", false
	}
	v = d[1 : len(d)-1]
	if strings.ContainsAny(v, "`$") {
		return "", false
	}
	return v, true
}

// DocTable reads the first Markdown table under the heading (a line
// "## heading" or "### heading") of the file at path, relative to the
// module root, and returns its rows. The first column is the name (code
// quotes removed), the second the default. It fails the test when the
// heading or the table is missing.
func DocTable(t testing.TB, path, heading string) []DocRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ModuleRoot(t), path))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	var rows []DocRow
	in, table := false, false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "#") {
			if in {
				break
			}
			in = strings.TrimSpace(strings.TrimLeft(line, "#")) == heading
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if table {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !table { // the header row
			table = true
			continue
		}
		if len(cells) < 2 || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			continue
		}
		rows = append(rows, DocRow{
			Name:    strings.Trim(strings.TrimSpace(cells[0]), "`"),
			Default: strings.TrimSpace(cells[1]),
		})
	}
	if len(rows) == 0 {
		t.Fatalf("testenv: no table under %q in %s", heading, path)
	}
	return rows
}

// ModuleRoot returns the directory holding the module's go.mod, found from
// the test's working directory upwards.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found")
		}
		dir = parent
	}
}
