package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/proc"
)

// readyTimeout bounds one process's start or restart.
const readyTimeout = 60 * time.Second

// binaries are the built commands under test.
type binaries struct {
	Server, Example string
}

// build compiles the auth service and the example microservice into dir.
func build(ctx context.Context, dir string) (binaries, error) {
	b := binaries{Server: filepath.Join(dir, "bin", "server"), Example: filepath.Join(dir, "bin", "example")}
	err := proc.Build(ctx, proc.Binary{Out: b.Server, Pkg: "./cmd/server"}, proc.Binary{Out: b.Example, Pkg: "./examples/example-microservice"})
	if errors.Is(err, proc.ErrNoModule) {
		return binaries{}, errors.New("run soak from inside the authmesh module (go env GOMOD is empty)")
	}
	return b, err
}

// authEnv configures the auth replicas beyond their dependencies. Cheap
// argon2 and no login limits let a few workers log in often from one
// address; tokens outlive the soak, so a 401 always means a revocation.
var authEnv = []string{"RATE_LIMITS=off", "ARGON2_MEMORY_KIB=1024", "ARGON2_ITERATIONS=1", "ACCESS_TOKEN_TTL=2h", "ADMIN_ADDR=127.0.0.1:0"}

// node is one service process the soak may kill, pause and restart on the
// same port; its output accumulates in one log file across restarts.
type node struct {
	Name, URL string
	bin       string
	env       []string
	health    string
	logPath   string
	// routable: a load balancer with readiness probes sends it traffic.
	// Off from a kill until the restarted process is ready; a paused
	// process stays routable (nothing tells the balancer it hangs).
	routable atomic.Bool

	mu sync.Mutex
	p  *proc.Process
}

// start launches the process and waits until its health path answers 200.
func (n *node) start(ctx context.Context) error {
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child holds its own descriptor
	p, err := proc.Start(proc.Spec{Name: n.Name, Path: n.bin, Env: proc.ServiceEnv(n.env...), Log: proc.File{File: f}})
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.p = p
	n.mu.Unlock()
	if err := p.WaitReady(ctx, "GET "+n.URL+n.health, readyTimeout, proc.HTTPOK(n.URL+n.health)); err != nil {
		return err
	}
	n.routable.Store(true)
	return nil
}

func (n *node) process() *proc.Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// kill crashes the process (SIGKILL) and takes it out of rotation.
func (n *node) kill() {
	n.routable.Store(false)
	if p := n.process(); p != nil {
		p.Kill()
	}
}

func (n *node) signal(sig os.Signal) error {
	if p := n.process(); p != nil {
		return p.Signal(sig)
	}
	return fmt.Errorf("%s is not running", n.Name)
}

// stop resumes the process if paused, then stops it.
func (n *node) stop() {
	if p := n.process(); p != nil {
		_ = p.Signal(syscall.SIGCONT)
		p.Stop()
	}
}

// redisServer is the soak's own redis-server: AOF fsynced on every write,
// so a kill and restart keeps every acknowledged write, as in production.
type redisServer struct {
	Addr string
	args []string
	dir  string
	mu   sync.Mutex
	p    *proc.Process
}

func (r *redisServer) start(ctx context.Context) error {
	p, err := proc.Start(proc.Spec{Name: "redis-server", Path: r.args[0], Args: r.args[1:]})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.p = p
	r.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	return p.WaitReady(ctx, "PING at "+r.Addr, readyTimeout, func(ctx context.Context) bool { return c.Ping(ctx).Err() == nil })
}

func (r *redisServer) process() *proc.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

func (r *redisServer) stop() {
	if p := r.process(); p != nil {
		_ = p.Signal(syscall.SIGCONT)
		p.Kill()
	}
}

// postgres is the soak's own PostgreSQL cluster in dir, on a free port.
type postgres struct {
	URL   string
	dir   string
	port  int
	bin   string
	runAs []string
}

func (pg *postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, pg.runAs...), filepath.Join(pg.bin, name)), args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// initPostgres creates the cluster (trust authentication on loopback).
func initPostgres(ctx context.Context, dir string) (*postgres, error) {
	pg := &postgres{dir: dir}
	if bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(bins) > 0 {
		pg.bin = filepath.Dir(bins[len(bins)-1])
	} else if p, err := exec.LookPath("initdb"); err == nil {
		pg.bin = filepath.Dir(p)
	} else {
		return nil, errors.New("initdb not found: install PostgreSQL (apt-get install -y postgresql)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if os.Getuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		pg.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := pg.command(ctx, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	pg.port = port
	pg.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return pg, nil
}

// start starts the server and waits until it accepts connections.
func (pg *postgres) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir)
	if out, err := pg.command(ctx, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-l", filepath.Join(pg.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput(); err != nil {
		return fmt.Errorf("start PostgreSQL: %v\n%s", err, out)
	}
	return nil
}

// stop shuts the server down in fast mode: every session is terminated,
// as in an operator's restart.
func (pg *postgres) stop(ctx context.Context) error {
	if out, err := pg.command(ctx, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("stop PostgreSQL: %v\n%s", err, out)
	}
	return nil
}

// cluster is everything the soak started.
type cluster struct {
	redis *redisServer
	pg    *postgres
	auths []*node
	svcs  []*node // the first two read Redis, the others follow the feed
}

// startCluster starts Redis, PostgreSQL, two auth replicas and four
// microservices, in that order. On error the caller closes what started.
func startCluster(ctx context.Context, stderr io.Writer, dir string, bins binaries) (*cluster, error) {
	c := &cluster{}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found: install it (apt-get install -y redis-server)")
	}
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	rdir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, err
	}
	c.redis = &redisServer{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: rdir, args: []string{
		bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", rdir, "--appendonly", "yes",
		"--appendfsync", "always", "--save", "", "--protected-mode", "no", "--logfile", filepath.Join(rdir, "redis.log"),
	}}
	fmt.Fprintf(stderr, "soak: starting redis-server at %s, PostgreSQL, 2 auth replicas, 4 microservices …\n", c.redis.Addr)
	if err := c.redis.start(ctx); err != nil {
		return c, err
	}
	if c.pg, err = initPostgres(ctx, filepath.Join(dir, "postgres")); err != nil {
		return c, err
	}
	if err := c.pg.start(ctx); err != nil {
		c.pg = nil
		return c, err
	}
	newNode := func(name, bin, health string, env ...string) (*node, error) {
		port, err := proc.FreePort()
		if err != nil {
			return nil, err
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		return &node{Name: name, URL: url, bin: bin, health: health, logPath: filepath.Join(dir, name+".log"),
			env: append(env, "PORT="+strconv.Itoa(port))}, nil
	}
	for i := range 2 {
		name := fmt.Sprintf("auth-%d", i)
		// DATA_DIR in the soak's directory: the mail it sends (.eml files)
		// goes there, not into the working directory.
		n, err := newNode(name, bins.Server, "/readyz",
			append([]string{"DATABASE_URL=" + c.pg.URL, "REDIS_ADDR=" + c.redis.Addr, "DATA_DIR=" + filepath.Join(dir, name)}, authEnv...)...)
		if err != nil {
			return c, err
		}
		c.auths = append(c.auths, n)
		// One at a time: the first migrates the fresh database.
		if err := n.start(ctx); err != nil {
			return c, err
		}
	}
	authURLs := "AUTH_URL=" + c.auths[0].URL + "," + c.auths[1].URL
	for i := range 4 {
		name, env := fmt.Sprintf("svc-redis-%d", i), []string{authURLs, "REDIS_ADDR=" + c.redis.Addr}
		if i >= 2 {
			name, env = fmt.Sprintf("svc-feed-%d", i-2), []string{authURLs}
		}
		n, err := newNode(name, bins.Example, "/readyz", env...)
		if err != nil {
			return c, err
		}
		c.svcs = append(c.svcs, n)
		if err := n.start(ctx); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Close stops every process, microservices first.
func (c *cluster) Close() {
	for _, n := range c.svcs {
		n.stop()
	}
	for _, n := range c.auths {
		n.stop()
	}
	if c.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = c.pg.stop(ctx)
		cancel()
	}
	if c.redis != nil {
		c.redis.stop()
	}
}
