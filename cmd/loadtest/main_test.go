package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: nil},
		{args: []string{"-auth-url", "http://127.0.0.1:1", "-service-url", "http://127.0.0.1:2"}},
		{args: []string{"-duration", "0s"}, wantErr: "-duration"},
		{args: []string{"-workers", "0"}, wantErr: "-workers"},
		{args: []string{"-refresh", "0.5", "-login", "0.5"}, wantErr: "-refresh"},
		{args: []string{"-auth-url", "http://127.0.0.1:1"}, wantErr: "together"},
		{args: []string{"-auth-url", "http://127.0.0.1:1", "-service-url", "http://127.0.0.1:2", "-redis", "127.0.0.1:6379"}, wantErr: "-redis"},
		{args: []string{"extra"}, wantErr: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseFlags(tt.args, &bytes.Buffer{})
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("parseFlags(%q) = %v; want an error mentioning %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(d, tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v; want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(none) = %v; want 0", got)
	}
}

// A short run against the real binaries (built from this module, embedded
// default) completes with no failed request and writes both plots. It
// asserts no time: the figures are docs/PERFORMANCE.md's.
func TestLoadtestSmoke(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-duration", "5s", "-workers", "2", "-users", "2", "-login", "0.05", "-out", out}, &stdout)
	t.Log(stdout.String())
	if err != nil {
		t.Fatalf("loadtest: %v", err)
	}
	for _, want := range []string{"validate", "refresh", "login", "logout", "propagation"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table has no %s row", want)
		}
	}
	for _, f := range []string{"latency.png", "propagation.png"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: not a PNG (%v)", f, err)
		}
	}
}
