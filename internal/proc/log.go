package proc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// Buffer is a Log kept in memory. The zero value is ready; it is safe for
// concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

var _ Log = (*Buffer)(nil)

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Tail returns the last n bytes written.
func (b *Buffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.Bytes()
	return string(s[max(0, len(s)-n):])
}

// File is a Log in a file, for output too long to keep in memory. Start
// hands the file itself to the child, which writes through its own
// descriptor, so the caller may Close it once Start has returned.
type File struct {
	*os.File
}

var _ Log = File{}

// CreateFile creates (or truncates) the log file at path.
func CreateFile(path string) (File, error) {
	f, err := os.Create(path)
	if err != nil {
		return File{}, fmt.Errorf("proc: create log: %w", err)
	}
	return File{f}, nil
}

// Tail returns the file's last n bytes, or what an error left readable.
func (f File) Tail(n int) string {
	r, err := os.Open(f.Name())
	if err != nil {
		return ""
	}
	defer r.Close()
	if st, err := r.Stat(); err == nil && st.Size() > int64(n) {
		_, _ = r.Seek(st.Size()-int64(n), io.SeekStart)
	}
	b, _ := io.ReadAll(r)
	return string(b)
}
