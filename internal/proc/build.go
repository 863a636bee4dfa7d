package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoModule: the working directory is not inside a Go module (go env
// GOMOD is empty), so the module's binaries cannot be built.
var ErrNoModule = errors.New("proc: not inside a Go module (go env GOMOD is empty)")

// Binary is one binary to build: the package Pkg (relative to the module's
// root, e.g. "./cmd/server") compiled to the file Out.
type Binary struct {
	Out, Pkg string
}

// Build compiles each binary of the module around the working directory
// (go build -o), in order, and stops at the first failure, whose error
// quotes the compiler's output. Outside a module it returns ErrNoModule.
func Build(ctx context.Context, bins ...Binary) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return ErrNoModule
	}
	for _, b := range bins {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.Out, b.Pkg)
		cmd.Dir = filepath.Dir(gomod)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", b.Pkg, err, msg)
		}
	}
	return nil
}
