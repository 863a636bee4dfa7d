package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Iterations is the time cost (passes over memory).
	Iterations uint32
	// Parallelism is the number of lanes.
	Parallelism uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived hash in bytes.
	KeyLen uint32
}

// DefaultParams returns the OWASP-recommended minimum for argon2id:
// 19 MiB of memory, 2 iterations, 1 lane, a 16-byte salt and a 32-byte hash.
func DefaultParams() Params {
	return Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// validate reports whether p can be used to hash.
func (p Params) validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("parallelism must be at least 1")
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations must be 1..%d", maxIterations)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("memory must be 8*parallelism..%d KiB", maxMemoryKiB)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length must be %d..%d bytes", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length must be %d..%d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

// Config configures a Hasher.
type Config struct {
	// Params are the cost parameters of new hashes. The zero value means
	// DefaultParams(). Lower values are accepted (tests use them) but
	// production should never go below DefaultParams.
	Params Params
	// MaxConcurrent bounds how many hash computations run at once; each
	// holds Params.Memory KiB while it runs. Zero means one per core the Go
	// scheduler runs on (runtime.GOMAXPROCS, which follows a container's
	// CPU limit) divided by Params.Parallelism (each computation runs
	// that many lanes at once), at least 1: as many as keep the cores busy,
	// and no more, since argon2id is CPU-bound and more at once would only
	// hold more memory and make each login slower.
	MaxConcurrent int
}

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  string // a hash of a random password, for VerifyDummy
	runs   atomic.Uint64
}

// New returns a Hasher for cfg.
func New(cfg Config) (*Hasher, error) {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if err := cfg.Params.validate(); err != nil {
		return nil, fmt.Errorf("password: invalid params: %w", err)
	}
	if cfg.MaxConcurrent < 0 {
		return nil, errors.New("password: MaxConcurrent must not be negative")
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultConcurrency(cfg.Params)
	}
	h := &Hasher{params: cfg.Params, sem: make(chan struct{}, cfg.MaxConcurrent)}
	var secret [16]byte
	_, _ = rand.Read(secret[:]) // crypto/rand.Read never fails
	dummy, err := h.hash(string(secret[:]))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// DefaultConcurrency is Config.MaxConcurrent's default for p: the cores
// the Go scheduler runs on divided by p.Parallelism, at least 1.
func DefaultConcurrency(p Params) int {
	return max(1, runtime.GOMAXPROCS(0)/max(1, int(p.Parallelism)))
}

// MaxConcurrent returns how many computations the Hasher runs at once.
func (h *Hasher) MaxConcurrent() int { return cap(h.sem) }

// Computations returns how many argon2id computations the Hasher has run
// (Hash, Verify and VerifyDummy each run one), for metrics and for tests
// that count hashing work instead of timing it.
func (h *Hasher) Computations() uint64 { return h.runs.Load() }

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC-encoded argon2id hash of password with a fresh
// random salt. It waits for a free slot under the concurrency bound and
// returns ctx's error if ctx ends first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	h.runs.Add(1)
	return h.hash(password)
}

func (h *Hasher) hash(password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.Memory, h.params.Parallelism, h.params.KeyLen)
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time. needsRehash is true when the password matched but encoded was made
// with parameters other than the Hasher's: the caller should store a fresh
// Hash. A malformed encoded hash yields ErrMalformedHash; a context that
// ends while waiting for a slot yields its error. A wrong password is not
// an error.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.runs.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the work of one Verify with the Hasher's parameters and
// discards the result. Call it when the account does not exist, so that an
// unknown email and a wrong password take the same time.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummy)
}

func (h *Hasher) acquire(ctx context.Context) error {
	// Prefer failing fast on an already-ended context over taking a slot.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }
