package secretenv_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/secretenv"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unreadable := file("unreadable", "s3cret\n")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string // a substring of the error; "" for none
	}{
		{name: "neither", env: nil, want: ""},
		{name: "variable unchanged", env: map[string]string{"S": " s3cret "}, want: " s3cret "},
		{name: "file", env: map[string]string{"S_FILE": file("plain", "s3cret")}, want: "s3cret"},
		{name: "file trailing newline", env: map[string]string{"S_FILE": file("nl", "s3cret\n")}, want: "s3cret"},
		{name: "file CRLF", env: map[string]string{"S_FILE": file("crlf", "s3cret\r\n")}, want: "s3cret"},
		{name: "file keeps inner spaces", env: map[string]string{"S_FILE": file("spaces", " s3 cret \n")}, want: " s3 cret "},
		{name: "file path with spaces around", env: map[string]string{"S_FILE": " " + file("padded", "s3cret") + "\n"}, want: "s3cret"},
		{name: "empty file variable is unset", env: map[string]string{"S": "v", "S_FILE": " "}, want: "v"},
		{name: "both", env: map[string]string{"S": "v", "S_FILE": file("both", "f")}, wantErr: "S and S_FILE are both set"},
		{name: "missing file", env: map[string]string{"S_FILE": filepath.Join(dir, "nope")}, wantErr: "S_FILE: open"},
		{name: "empty file", env: map[string]string{"S_FILE": file("empty", "\n")}, wantErr: "S_FILE=" + `"` + filepath.Join(dir, "empty") + `": the file is empty`},
		{name: "directory", env: map[string]string{"S_FILE": dir}, wantErr: "S_FILE: " + dir + " is a directory"},
		{name: "too large", env: map[string]string{"S_FILE": file("large", strings.Repeat("x", secretenv.MaxFileSize+1))}, wantErr: "S_FILE: " + filepath.Join(dir, "large") + " is larger than a secret"},
	}
	if os.Geteuid() != 0 { // root reads any file
		tests = append(tests, struct {
			name    string
			env     map[string]string
			want    string
			wantErr string
		}{name: "unreadable", env: map[string]string{"S_FILE": unreadable}, wantErr: "S_FILE: open " + unreadable + ": permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretenv.Lookup(func(k string) string { return tt.env[k] }, "S")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("got %q, %v; want one line containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A device that never ends is refused, not read forever.
func TestLookupEndlessFile(t *testing.T) {
	_, err := secretenv.Lookup(func(k string) string {
		if k == "S_FILE" {
			return "/dev/zero"
		}
		return ""
	}, "S")
	if err == nil || !strings.Contains(err.Error(), "larger than a secret") {
		t.Fatalf("got %v; want the size bound", err)
	}
}
