package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/proc"
)

// binaries are the built commands under test.
type binaries struct {
	Server, Example string
}

// build compiles the auth service and the example microservice into dir.
func build(ctx context.Context, dir string) (binaries, error) {
	b := binaries{Server: filepath.Join(dir, "bin", "server"), Example: filepath.Join(dir, "bin", "example")}
	err := proc.Build(ctx, proc.Binary{Out: b.Server, Pkg: "./cmd/server"}, proc.Binary{Out: b.Example, Pkg: "./examples/example-microservice"})
	if errors.Is(err, proc.ErrNoModule) {
		return binaries{}, errors.New("run revocation-bench from inside the authmesh module (go env GOMOD is empty)")
	}
	return b, err
}

// fleet owns every process started for one mode: Close stops them all.
// It is safe for concurrent use.
type fleet struct {
	dir   string
	mu    sync.Mutex
	procs []*proc.Process
}

// service is a started service listening on Port.
type service struct {
	*proc.Process
	Port int
	URL  string
}

func newFleet(dir string) (*fleet, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &fleet{dir: dir}, nil
}

// startService runs bin on a free port with env and waits until healthPath
// answers 200. A port taken in between is retried on another port.
func (f *fleet) startService(ctx context.Context, name, bin string, env []string, healthPath string) (*service, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := proc.FreePort()
		if err != nil {
			return nil, err
		}
		// Several auth services run at once: each admin API on a port of its own.
		p, err := f.start(name, bin, nil, append([]string{"ADMIN_ADDR=127.0.0.1:0"}, append(env, "PORT="+strconv.Itoa(port))...))
		if err != nil {
			return nil, err
		}
		s := &service{Process: p, Port: port, URL: "http://127.0.0.1:" + strconv.Itoa(port)}
		if lastErr = p.WaitReady(ctx, "GET "+s.URL+healthPath, 30*time.Second, proc.HTTPOK(s.URL+healthPath)); lastErr == nil {
			return s, nil
		}
		p.Stop()
		if !strings.Contains(p.Log().Tail(2000), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

// start launches bin with args and env, logging to <dir>/<name>.log.
func (f *fleet) start(name, bin string, args, env []string) (*proc.Process, error) {
	log, err := proc.CreateFile(filepath.Join(f.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child holds its own descriptor
	p, err := proc.Start(proc.Spec{Name: name, Path: bin, Args: args, Env: proc.ServiceEnv(env...), Log: log})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	return p, nil
}

// Close stops every process, newest first.
func (f *fleet) Close() {
	f.mu.Lock()
	procs := f.procs
	f.procs = nil
	f.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
}
