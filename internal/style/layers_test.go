package style_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layer is one row of the import rules docs/ARCHITECTURE.md draws. Package
// patterns are relative to the module: "internal/auth" is that package,
// "internal/revoke/*" its subpackages only, "internal/revoke/..." both.
type layer struct {
	name string
	pkgs []string // the packages of the layer
	// may lists the module's packages the layer may import; any other is
	// refused.
	may []string
	// mayNot lists standard or third-party packages (full paths, same
	// pattern forms) the layer must not import.
	mayNot []string
}

// Technologies the inner layers stay free of.
var (
	sqlLibs   = []string{"database/sql/...", "github.com/jackc/...", "modernc.org/..."}
	redisLibs = []string{"github.com/redis/...", "github.com/go-redis/..."}
	grpcLibs  = []string{"google.golang.org/grpc/..."}
)

func concat(lists ...[]string) []string { return slices.Concat(lists...) }

// layers is the package graph of the module, inner layers first. Every
// package belongs to exactly one layer, so a new package is placed
// deliberately (add it here and to the picture in docs/ARCHITECTURE.md).
var layers = []layer{
	{
		name: "domain roots: types, rules and the interfaces their users need",
		pkgs: []string{"internal/revoke", "internal/token"},
		// A domain root never imports its technology subpackages, nor
		// anything else of the module.
		mayNot: concat(sqlLibs, redisLibs, grpcLibs, []string{"net/http"}),
	},
	{
		name: "leaf helpers, each with one job",
		pkgs: []string{
			"internal/bearer", "internal/clientip", "internal/device", "internal/password",
			"internal/ratelimit", "internal/secretenv", "internal/healthcheck", "internal/redisconn",
			"internal/proc", "internal/origin", "internal/certreload", "internal/mail",
			"internal/telemetry", "internal/authclient",
		},
		mayNot: concat(sqlLibs, grpcLibs),
	},
	{
		name:   "revocation adapters, one technology each",
		pkgs:   []string{"internal/revoke/*"},
		may:    []string{"internal/revoke/...", "internal/bearer", "internal/redisconn"},
		mayNot: grpcLibs,
	},
	{
		name:   "token adapters, one technology each",
		pkgs:   []string{"internal/token/*", "internal/token/internal/*"},
		may:    []string{"internal/token/..."},
		mayNot: concat(sqlLibs, redisLibs, grpcLibs),
	},
	{
		name: "the public validator",
		pkgs: []string{"session"},
		// TestSessionStaysLight narrows this to the readers a validator
		// runs, transitively.
		may:    []string{"internal/revoke/...", "internal/token/...", "internal/bearer", "internal/redisconn", "internal/origin"},
		mayNot: concat(sqlLibs, grpcLibs),
	},
	{
		name: "the validator's gRPC transport",
		pkgs: []string{"session/grpcauth"},
		may:  []string{"session"},
	},
	{
		name: "use cases: owns User and Session, declares its ports",
		pkgs: []string{"internal/auth"},
		// Only the domain roots: storage, transports and technologies
		// come in through the interfaces auth declares.
		may:    []string{"internal/revoke", "internal/token"},
		mayNot: concat(sqlLibs, redisLibs, grpcLibs, []string{"net/http"}),
	},
	{
		name:   "persistence: implements the ports of auth, revoke and keyring",
		pkgs:   []string{"internal/store"},
		may:    []string{"internal/auth", "internal/revoke", "internal/token", "internal/token/keyring", "internal/mail"},
		mayNot: concat(redisLibs, grpcLibs, []string{"net/http"}),
	},
	{
		name:   "the GraphQL transport over auth",
		pkgs:   []string{"internal/graph/..."},
		may:    []string{"internal/auth", "internal/bearer", "internal/origin", "internal/graph/..."},
		mayNot: concat(sqlLibs, redisLibs, grpcLibs),
	},
	{
		name: "the browser transport over auth: cookies, CSRF, the account page",
		pkgs: []string{"internal/web"},
		// session: the cookie names the validator's middleware reads too.
		may:    []string{"internal/auth", "internal/bearer", "internal/origin", "session"},
		mayNot: concat(sqlLibs, redisLibs, grpcLibs),
	},
	{
		name:   "the operator's admin API over auth",
		pkgs:   []string{"internal/admin"},
		may:    []string{"internal/auth", "internal/bearer", "internal/admin/adminwire"},
		mayNot: concat(sqlLibs, redisLibs, grpcLibs),
	},
	{
		name: "the admin API's JSON, shared by the API and the CLI",
		pkgs: []string{"internal/admin/adminwire"},
	},
	{
		name: "wiring: configuration, routes, background components",
		pkgs: []string{"internal/server"},
		may: []string{
			"internal/auth", "internal/admin", "internal/store", "internal/graph/...", "internal/web", "internal/revoke/...",
			"internal/token/...", "internal/bearer", "internal/clientip", "internal/device", "internal/password",
			"internal/ratelimit", "internal/redisconn", "internal/secretenv", "internal/origin",
			"internal/certreload", "internal/mail", "internal/telemetry",
		},
	},
	{
		name: "binaries",
		pkgs: []string{"cmd/server"},
		may:  []string{"internal/server", "internal/healthcheck", "internal/telemetry", "session"},
	},
	{
		name: "the operator's CLI: an HTTP client of the admin API",
		pkgs: []string{"cmd/authmesh"},
		may:  []string{"internal/secretenv", "internal/admin/adminwire"},
	},
	{
		name: "the benchmarks",
		pkgs: []string{"cmd/revocation-bench", "cmd/loadtest", "cmd/soak"},
		// The burst and sustained modes write through the auth service's
		// own revocation stores (the Redis writer, or the SQL journal and
		// its feed) and follow them with validators' own synchronisers.
		may: []string{"internal/proc", "internal/authclient", "internal/revoke", "internal/revoke/redisstore", "internal/revoke/redissync",
			"internal/revoke/sqljournal", "internal/revoke/feed", "internal/revoke/feedsync", "internal/revoke/feedwire", "internal/store"},
	},
	{
		name: "examples: validators built on the public API",
		pkgs: []string{"examples/..."},
		may:  []string{"examples/...", "session/...", "internal/healthcheck", "internal/secretenv", "internal/origin", "internal/telemetry"},
	},
	{
		name: "test support and tests",
		pkgs: []string{"internal/testenv", "internal/style", "e2e", "deployments"},
		may:  []string{"internal/proc"},
	},
}

// matches reports whether path (module-relative, or a full import path)
// matches pattern: "p" exactly, "p/*" strictly below p, "p/..." p or below.
func matches(pattern, path string) bool {
	switch {
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return path == base || strings.HasPrefix(path, base+"/")
	case strings.HasSuffix(pattern, "/*"):
		return strings.HasPrefix(path, strings.TrimSuffix(pattern, "*"))
	default:
		return path == pattern
	}
}

func matchesAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, path) })
}

// TestLayersImportOnlyWhatTheyMay checks every package's imports (test
// files aside) against its layer's rules.
func TestLayersImportOnlyWhatTheyMay(t *testing.T) {
	const mod = "github.com/authmesh/authmesh"
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	rel := func(p string) (string, bool) {
		if p == mod {
			return ".", true
		}
		r, ok := strings.CutPrefix(p, mod+"/")
		return r, ok
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := rel(f[0])
		if !ok {
			t.Fatalf("go list: %q is outside the module", f[0])
		}
		var in []layer
		for _, l := range layers {
			if matchesAny(l.pkgs, pkg) {
				in = append(in, l)
			}
		}
		if len(in) != 1 {
			t.Errorf("%s belongs to %d layers; want exactly 1 (place it in layers and in docs/ARCHITECTURE.md)", pkg, len(in))
			continue
		}
		l := in[0]
		for _, imp := range f[1:] {
			if r, ok := rel(imp); ok {
				if !matchesAny(l.may, r) {
					t.Errorf("%s imports %s; %s (%s) may import only %v", pkg, r, pkg, l.name, l.may)
				}
				continue
			}
			if matchesAny(l.mayNot, imp) {
				t.Errorf("%s imports %s; %s (%s) must not import %v", pkg, imp, pkg, l.name, l.mayNot)
			}
		}
	}
}
