package proc_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/proc"
)

func TestBuildFailures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bin")
	err := proc.Build(context.Background(), proc.Binary{Out: out, Pkg: "./no/such/package"})
	if err == nil || !strings.Contains(err.Error(), "go build ./no/such/package") {
		t.Errorf("Build of a missing package = %v; want the go build error", err)
	}
	t.Chdir(t.TempDir())
	t.Setenv("GO111MODULE", "on")
	if err := proc.Build(context.Background(), proc.Binary{Out: out, Pkg: "./cmd/server"}); !errors.Is(err, proc.ErrNoModule) {
		t.Errorf("Build outside a module = %v; want ErrNoModule", err)
	}
}
