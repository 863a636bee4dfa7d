package style_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoFiles returns the module's files (relative paths), skipping VCS data
// and what run.sh and the tests create (data, bin).
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".git") || d.Name() == "data" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// codePath is a path quoted as code that starts at a top-level
	// directory of the repository, e.g. `internal/revoke/feed.go`.
	codePath = regexp.MustCompile("`((?:cmd|internal|examples|scripts|docs|e2e|session|\\.ci)(?:/[A-Za-z0-9_.-]+)+)/?`")
)

// Every link and every quoted repository path in the Markdown files names a
// file or directory that exists, so a newcomer who clones the repository
// finds everything the documentation cites.
func TestDocsCiteOnlyFilesThatExist(t *testing.T) {
	root := moduleRoot(t)
	checked := 0
	for _, rel := range repoFiles(t, root) {
		if !strings.HasSuffix(rel, ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			checked++
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(rel), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
		for _, m := range codePath.FindAllStringSubmatch(string(b), -1) {
			checked++
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("%s cites %s, which does not exist", rel, m[1])
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d citations; the docs hold more, is the pattern broken?", checked)
	}
}

// The repository stands on its own: nothing cites the design document the
// project started from, whose content now lives in docs/.
func TestNothingCitesTheOriginalDesignDocument(t *testing.T) {
	root := moduleRoot(t)
	word := []byte("DES" + "IGN") // spelled apart so this file does not match
	for _, rel := range repoFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, word) {
			t.Errorf("%s mentions %s; cite docs/API.md or docs/CONFIGURATION.md instead", rel, word)
		}
	}
}
