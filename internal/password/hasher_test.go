package password_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/authmesh/authmesh/internal/password"
)

// cheap are parameters fast enough for tests; only TestDefaultParams pays
// for the real ones.
var cheap = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t testing.TB, p password.Params) *password.Hasher {
	t.Helper()
	h, err := password.New(password.Config{Params: p, MaxConcurrent: 4})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, cheap)
	for _, pw := range []string{"Test1234!", "pässwörd-ünïcödé", strings.Repeat("x", 128), ""} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Errorf("Hash = %q; want the argon2id PHC prefix", enc)
		}
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if err != nil || !ok || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want true, false, nil", pw, ok, rehash, err)
		}
		ok, _, err = h.Verify(ctx, pw+"x", enc)
		if err != nil || ok {
			t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestSaltIsRandom(t *testing.T) {
	h := newHasher(t, cheap)
	a, _ := h.Hash(context.Background(), "same password")
	b, _ := h.Hash(context.Background(), "same password")
	if a == b {
		t.Errorf("two hashes of one password are equal (%q): salt not random", a)
	}
}

func TestDefaultParams(t *testing.T) {
	h, err := password.New(password.Config{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// OWASP's argon2id minimum, written out: not computed by DefaultParams.
	want := password.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	if got := password.DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v; want %+v", got, want)
	}
	if got := h.Params(); got != want {
		t.Fatalf("Params() = %+v; want %+v", got, want)
	}
	enc, err := h.Hash(context.Background(), "Test1234!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q; want m=19456,t=2,p=1", enc)
	}
	parts := strings.Split(enc, "$")
	if got := len(parts[4]); got != 22 { // 16 bytes, raw base64
		t.Errorf("salt field has %d chars; want 22", got)
	}
	if got := len(parts[5]); got != 43 { // 32 bytes, raw base64
		t.Errorf("hash field has %d chars; want 43", got)
	}
	if ok, rehash, err := h.Verify(context.Background(), "Test1234!", enc); !ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := newHasher(t, cheap)
	enc, err := old.Hash(ctx, "Test1234!")
	if err != nil {
		t.Fatal(err)
	}
	stronger := cheap
	stronger.Memory, stronger.Iterations = 128, 2
	longer := cheap
	longer.KeyLen = 64
	for name, p := range map[string]password.Params{"stronger": stronger, "longer key": longer} {
		t.Run(name, func(t *testing.T) {
			h := newHasher(t, p)
			ok, rehash, err := h.Verify(ctx, "Test1234!", enc)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, rehash, _ = h.Verify(ctx, "wrong", enc)
			if ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v; want false, false", ok, rehash)
			}
			fresh, _ := h.Hash(ctx, "Test1234!")
			if _, rehash, _ := h.Verify(ctx, "Test1234!", fresh); rehash {
				t.Errorf("a fresh hash needs rehash")
			}
		})
	}
}

func TestMalformedHash(t *testing.T) {
	h := newHasher(t, cheap)
	good, _ := h.Hash(context.Background(), "pw")
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	with := func(alg, ver, params, s, k string) string {
		return strings.Join([]string{"", alg, ver, params, s, k}, "$")
	}
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with("argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"no version", strings.Join([]string{"", "argon2id", "m=64,t=1,p=1", salt, key}, "$")},
		{"old version", with("argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"extra field", good + "$x"},
		{"missing leading $", good[1:]},
		{"params order", with("argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"params missing", with("argon2id", "v=19", "m=64,t=1", salt, key)},
		{"params extra", with("argon2id", "v=19", "m=64,t=1,p=1,x=2", salt, key)},
		{"negative", with("argon2id", "v=19", "m=-64,t=1,p=1", salt, key)},
		{"plus sign", with("argon2id", "v=19", "m=+64,t=1,p=1", salt, key)},
		{"leading zero", with("argon2id", "v=19", "m=064,t=1,p=1", salt, key)},
		{"empty value", with("argon2id", "v=19", "m=,t=1,p=1", salt, key)},
		{"overflow", with("argon2id", "v=19", "m=99999999999,t=1,p=1", salt, key)},
		{"huge memory", with("argon2id", "v=19", "m=4294967295,t=1,p=1", salt, key)},
		{"huge iterations", with("argon2id", "v=19", "m=64,t=100000,p=1", salt, key)},
		{"zero iterations", with("argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"zero parallelism", with("argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"parallelism 256", with("argon2id", "v=19", "m=4096,t=1,p=256", salt, key)},
		{"memory below 8p", with("argon2id", "v=19", "m=8,t=1,p=2", salt, key)},
		{"salt not base64", with("argon2id", "v=19", "m=64,t=1,p=1", "!!!!", key)},
		{"salt padded", with("argon2id", "v=19", "m=64,t=1,p=1", salt+"==", key)},
		{"salt short", with("argon2id", "v=19", "m=64,t=1,p=1", "YWJj", key)},
		{"hash empty", with("argon2id", "v=19", "m=64,t=1,p=1", salt, "")},
		{"hash short", with("argon2id", "v=19", "m=64,t=1,p=1", salt, "YWJjZGVmZ2g")},
		{"too long", with("argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 600))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "pw", tt.enc)
			if !errors.Is(err, password.ErrMalformedHash) || ok || rehash {
				t.Errorf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", tt.enc, ok, rehash, err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  password.Config
	}{
		{"zero iterations", password.Config{Params: password.Params{Memory: 64, Parallelism: 1, SaltLen: 16, KeyLen: 32}}},
		{"short salt", password.Config{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32}}},
		{"short key", password.Config{Params: password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 4}}},
		{"negative concurrency", password.Config{Params: cheap, MaxConcurrent: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := password.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) = nil error; want an error", tt.cfg)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newHasher(t, cheap)
	h.VerifyDummy(context.Background(), "anything") // must not panic or block
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.VerifyDummy(ctx, "anything") // returns promptly on an ended context
}

func TestCanceledContext(t *testing.T) {
	h := newHasher(t, cheap)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash on canceled ctx: got %v; want context.Canceled", err)
	}
	enc, _ := h.Hash(context.Background(), "pw")
	if _, _, err := h.Verify(ctx, "pw", enc); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify on canceled ctx: got %v; want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := newHasher(t, cheap)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			pw := fmt.Sprintf("password-%d", i)
			enc, err := h.Hash(ctx, pw)
			if err != nil {
				t.Errorf("Hash: %v", err)
				return
			}
			if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
				t.Errorf("Verify = %v, %v; want true, nil", ok, err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkHashDefault(b *testing.B) {
	h := newHasher(b, password.DefaultParams())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "Test1234!"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefaultParallel(b *testing.B) {
	h := newHasher(b, password.DefaultParams())
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "Test1234!")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(ctx, "Test1234!", enc); !ok || err != nil {
				b.Fatalf("Verify = %v, %v", ok, err)
			}
		}
	})
}

// By default as many computations run at once as there are cores for
// their lanes: GOMAXPROCS divided by the lanes of one, at least one.
func TestDefaultConcurrencyFollowsCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	tests := []struct {
		lanes uint8
		want  int
	}{{1, 8}, {2, 4}, {3, 2}, {8, 1}, {16, 1}}
	for _, tt := range tests {
		p := cheap
		p.Parallelism = tt.lanes
		p.Memory = 8 * uint32(tt.lanes)
		h, err := password.New(password.Config{Params: p})
		if err != nil {
			t.Fatalf("New(parallelism %d): %v", tt.lanes, err)
		}
		if got := h.MaxConcurrent(); got != tt.want || got != password.DefaultConcurrency(p) {
			t.Errorf("parallelism %d on 8 cores: MaxConcurrent() = %d (DefaultConcurrency %d); want %d", tt.lanes, got, password.DefaultConcurrency(p), tt.want)
		}
	}
	h, err := password.New(password.Config{Params: cheap, MaxConcurrent: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.MaxConcurrent(); got != 3 {
		t.Errorf("MaxConcurrent: 3 given, got %d", got)
	}
}
