package main

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// minFragment is the shortest piece of a secret the leak check looks for:
// shorter pieces (a JWT's "eyJ..." header aside, which is no secret)
// could occur by chance.
const minFragment = 16

// secretSet holds every password the soak chose and every token it was
// given, as the fragments a log could show them in: the whole secret and
// each of its runs of token characters (a JWT's payload and signature).
// Safe for concurrent use.
type secretSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func newSecretSet() *secretSet { return &secretSet{m: map[string]struct{}{}} }

func (s *secretSet) add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range secrets {
		for i, w := range words(sec) {
			if len(w) >= minFragment && !(i == 0 && strings.HasPrefix(w, "eyJ") && strings.Count(sec, ".") == 2) {
				s.m[w] = struct{}{}
			}
		}
	}
}

func (s *secretSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *secretSet) has(w string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[w]
	return ok
}

// tokenChar reports whether r can be part of a token, a password the soak
// chose, or a JWT segment: base64url and base32 characters.
func tokenChar(r rune) bool {
	return r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

// words splits s into its runs of token characters.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !tokenChar(r) })
}

// leak is a secret found in a log.
type leak struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// scanLogs reads every file under dir but the binaries and finds the
// lines holding a secret of set. It returns the leaks (never the secrets
// themselves), and how much it read.
func scanLogs(dir string, set *secretSet) (leaks []leak, bytes int64, files int, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			// The binaries, and PostgreSQL's data files (binary pages; its
			// log is postgres/postgres.log).
			if rel == "bin" || rel == filepath.Join("postgres", "data") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".log") && !strings.HasSuffix(path, ".aof") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		files++
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for n := 1; sc.Scan(); n++ {
			bytes += int64(len(sc.Bytes()) + 1)
			for _, w := range words(sc.Text()) {
				if len(w) >= minFragment && set.has(w) {
					leaks = append(leaks, leak{File: rel, Line: n})
					break
				}
			}
		}
		return sc.Err()
	})
	return leaks, bytes, files, err
}

// rawRedisLines counts lines printed by go-redis around the structured
// log (they start "redis: "): each is a log line no field names.
func rawRedisLines(dir string) int {
	n := 0
	paths, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "redis: ") {
				n++
			}
		}
	}
	return n
}
