package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunFailsFastNamingTheVariable: bad configuration or an unreachable
// dependency stops the service at start with one clear line.
func TestRunFailsFastNamingTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ACCESS_TOKEN_TTL": "soon"}, "ACCESS_TOKEN_TTL"},
		{map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/db?connect_timeout=1"}, "DATABASE_URL"},
		{map[string]string{"REDIS_ADDR": "127.0.0.1:1"}, "REDIS_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			tt.env["DATA_DIR"] = t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, nil, func(k string) string { return tt.env[k] }, io.Discard, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestRunServesAndStops starts the embedded default on a free port, checks
// /healthz, and shuts down when the context ends.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"PORT": "0", "DATA_DIR": dir, "ADMIN_ADDR": "127.0.0.1:0"}[k]
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, io.Discard, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready after 30s")
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	stopping := time.Now()
	cancel()
	select {
	case err := <-done:
		t.Logf("shutdown took %s", time.Since(stopping))
		if err != nil {
			t.Fatalf("run returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "authmesh.db")); err != nil {
		t.Fatalf("embedded database not created under DATA_DIR: %v", err)
	}
}
