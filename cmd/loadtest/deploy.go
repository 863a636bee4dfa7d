package main

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"time"

	"github.com/authmesh/authmesh/internal/proc"
)

// deployment is the auth service and one example microservice this
// command started; Close stops both.
type deployment struct {
	AuthURL, ServiceURL, Mode string
	// AdminURL is the auth service's admin listener (on a free loopback
	// port), where its Go profiles are served.
	AdminURL string
	procs    []*proc.Process
}

// deploy builds the binaries into dir and starts them: embedded (SQLite,
// feed) by default, with Redis for revocations when redis is set, and
// PostgreSQL when database is set.
func deploy(ctx context.Context, dir, redis, database string) (d *deployment, err error) {
	server, example, err := build(ctx, dir)
	if err != nil {
		return nil, err
	}
	d = &deployment{Mode: "embedded default (EdDSA, SQLite, feed)"}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	adminPort, err := proc.FreePort()
	if err != nil {
		return d, err
	}
	d.AdminURL = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	authEnv := []string{"DATA_DIR=" + filepath.Join(dir, "data"), "RATE_LIMITS=off", "ADMIN_ADDR=127.0.0.1:" + strconv.Itoa(adminPort)}
	svcEnv := []string{}
	switch {
	case redis != "" && database != "":
		d.Mode = "Redis + PostgreSQL (EdDSA)"
	case redis != "":
		d.Mode = "Redis + SQLite (EdDSA)"
	case database != "":
		d.Mode = "PostgreSQL, feed (EdDSA)"
	}
	if database != "" {
		authEnv = append(authEnv, "DATABASE_URL="+database)
	}
	if redis != "" {
		// A prefix of its own: runs never see each other's revocations.
		prefix := "REDIS_PREFIX=loadtest-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
		authEnv = append(authEnv, "REDIS_ADDR="+redis, prefix)
		svcEnv = append(svcEnv, "REDIS_ADDR="+redis, prefix)
	}
	auth, err := d.start(ctx, dir, "auth", server, authEnv, "/healthz")
	if err != nil {
		return d, err
	}
	d.AuthURL = auth
	svc, err := d.start(ctx, dir, "service", example, append(svcEnv, "AUTH_URL="+auth), "/readyz")
	if err != nil {
		return d, err
	}
	d.ServiceURL = svc
	return d, nil
}

// build compiles the auth service and the example microservice.
func build(ctx context.Context, dir string) (server, example string, err error) {
	server, example = filepath.Join(dir, "server"), filepath.Join(dir, "example")
	err = proc.Build(ctx, proc.Binary{Out: server, Pkg: "./cmd/server"}, proc.Binary{Out: example, Pkg: "./examples/example-microservice"})
	if errors.Is(err, proc.ErrNoModule) {
		return "", "", errors.New("run loadtest from inside the authmesh module (go env GOMOD is empty), or give -auth-url and -service-url")
	}
	return server, example, err
}

// start runs bin on a free port and waits until healthPath answers 200.
func (d *deployment) start(ctx context.Context, dir, name, bin string, env []string, healthPath string) (string, error) {
	port, err := proc.FreePort()
	if err != nil {
		return "", err
	}
	log, err := proc.CreateFile(filepath.Join(dir, name+".log"))
	if err != nil {
		return "", err
	}
	defer log.Close() // the child holds its own descriptor
	p, err := proc.Start(proc.Spec{Name: name, Path: bin, Env: proc.ServiceEnv(append(env, "PORT="+strconv.Itoa(port))...), Log: log})
	if err != nil {
		return "", err
	}
	d.procs = append(d.procs, p)
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := p.WaitReady(ctx, "GET "+url+healthPath, 60*time.Second, proc.HTTPOK(url+healthPath)); err != nil {
		return "", err
	}
	return url, nil
}

// Close stops the services, newest first.
func (d *deployment) Close() {
	for i := len(d.procs) - 1; i >= 0; i-- {
		d.procs[i].Stop()
	}
	d.procs = nil
}
