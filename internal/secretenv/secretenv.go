// Package secretenv reads a secret from an environment variable or from the
// file its twin variable NAME_FILE names, so a secret can be mounted as a
// file (Docker and Compose secrets, a Kubernetes Secret volume) instead of
// sitting in the process environment.
package secretenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxFileSize is the largest secret file Lookup reads. A secret is a few
// hundred bytes at most; the bound keeps a mistaken path (a log, a device
// such as /dev/zero) from stalling or filling memory at start-up.
const MaxFileSize = 64 << 10

// FileSuffix is appended to a variable's name to name its file form.
const FileSuffix = "_FILE"

// Lookup returns the secret name holds, read through getenv: the value of
// the variable name itself, or the content of the file that name+"_FILE"
// names, with its trailing newline (the one `echo` or an editor adds)
// removed and nothing else changed, so both forms give the same bytes.
// The variable's value is returned unchanged; the caller normalises both
// forms alike. Neither set returns "".
//
// Setting both is an error naming both, since one of them would be
// silently ignored. An unreadable, empty or oversized file is an error
// naming the variable. Every error is one line.
func Lookup(getenv func(string) string, name string) (string, error) {
	fileVar := name + FileSuffix
	v, path := getenv(name), strings.TrimSpace(getenv(fileVar))
	switch {
	case path == "":
		return v, nil
	case v != "":
		return "", fmt.Errorf("%s and %s are both set: set only one", name, fileVar)
	}
	s, err := readFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileVar, err)
	}
	if s = strings.TrimRight(s, "\r\n"); s == "" {
		return "", fmt.Errorf("%s=%q: the file is empty", fileVar, path)
	}
	return s, nil
}

// readFile reads at most MaxFileSize bytes of the file at path.
func readFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return "", fmt.Errorf("%s is a directory, not a file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return "", errors.New(path + " is larger than a secret (64 KiB): is it the right file?")
	}
	return string(b), nil
}
