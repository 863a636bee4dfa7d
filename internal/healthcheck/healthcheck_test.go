package healthcheck_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/healthcheck"
)

func TestLocal(t *testing.T) {
	serve := func(status int, body string) int {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		n, _ := strconv.Atoi(port)
		return n
	}
	closed := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return port
	}
	tests := []struct {
		name string
		port int
		want string // a substring of the error; "" for healthy
	}{
		{"healthy", serve(200, `{"status":"ok"}`), ""},
		{"unhealthy", serve(503, "degraded: revocation state stale\nmore"), "503 Service Unavailable: degraded: revocation state stale"},
		{"redirect is not healthy", serve(302, ""), "302"},
		{"nothing listening", closed(), "connection refused"},
		{"port 0", 0, "PORT=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := healthcheck.Local(context.Background(), tt.port, "/healthz")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v; want healthy", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v; want one line containing %q", err, tt.want)
			}
		})
	}
}

// A service that accepts the connection but never answers is unhealthy
// once the check's context ends, not waited on forever.
func TestCheckHangingService(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- healthcheck.Check(ctx, srv.URL+"/healthz") }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
}
