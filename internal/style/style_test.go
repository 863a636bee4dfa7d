package style_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot walks up from the test's directory to go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// parsedPackage is one directory's parsed non-test files.
type parsedPackage struct {
	Name  string
	Files map[string]*ast.File
}

// packages parses every non-test, non-generated Go package of the module.
func packages(t *testing.T) map[string]*parsedPackage {
	t.Helper()
	root := moduleRoot(t)
	out := map[string]*parsedPackage{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		p := out[rel]
		if p == nil {
			p = &parsedPackage{Name: f.Name.Name, Files: map[string]*ast.File{}}
			out[rel] = p
		}
		p.Files[path] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for dir, p := range packages(t) {
		documented := false
		for _, f := range p.Files {
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s (%s) has no package doc comment", p.Name, dir)
		}
	}
}

func TestEveryExportedNameIsDocumented(t *testing.T) {
	for dir, p := range packages(t) {
		if p.Name == "main" {
			continue
		}
		for path, f := range p.Files {
			for _, decl := range f.Decls {
				for _, name := range undocumented(decl) {
					rel, _ := filepath.Rel(moduleRoot(t), path)
					t.Errorf("%s: exported %s has no doc comment (package %s)", rel, name, dir)
				}
			}
		}
	}
}

// undocumented lists the exported names a declaration leaves without docs.
// Methods on unexported types and interface-satisfying methods such as
// Error, String, ServeHTTP and Unwrap are exempt when self-evident.
func undocumented(decl ast.Decl) []string {
	var out []string
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() || d.Doc != nil {
			return nil
		}
		if d.Recv != nil {
			if !receiverExported(d.Recv) {
				return nil
			}
			switch d.Name.Name {
			case "Error", "String", "Unwrap", "ServeHTTP", "Describe", "Collect", "UnmarshalJSON", "MarshalJSON":
				return nil
			}
		}
		out = append(out, d.Name.Name)
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
					out = append(out, s.Name.Name)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	return out
}

func receiverExported(fl *ast.FieldList) bool {
	if len(fl.List) == 0 {
		return false
	}
	t := fl.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// TestSessionStaysLight: every microservice embeds the session package, so
// it must link only what a validator runs: the revocation domain and its
// readers (Redis follower, feed client), the token verifier and JWKS
// client, and their libraries. No database driver or database/sql, no gRPC
// (only services importing session/grpcauth link it), no server-side code
// (the Redis writer and re-seeding, the SQL journal, the feed server, the
// key ring, the auth service). Both lists are allow-lists: a new dependency
// of session fails here until it is added deliberately.
func TestSessionStaysLight(t *testing.T) {
	const mod = "github.com/authmesh/authmesh"
	allowedPackages := map[string]bool{
		mod + "/session":                         true,
		mod + "/internal/bearer":                 true, // the Authorization header parser
		mod + "/internal/redisconn":              true, // the go-redis client of the REDIS_* settings
		mod + "/internal/origin":                 true, // the CSRF check of cookie-authenticated requests
		mod + "/internal/revoke":                 true, // the domain: entries, the Set
		mod + "/internal/revoke/redissync":       true, // the Redis reader and follower
		mod + "/internal/revoke/feedsync":        true, // the feed client
		mod + "/internal/revoke/feedwire":        true, // the feed's wire format
		mod + "/internal/token":                  true, // claims and the verifier
		mod + "/internal/token/jwks":             true, // the JWKS client
		mod + "/internal/token/internal/refetch": true, // the JWKS client's rate-limited refetch
	}
	allowedModules := map[string]bool{
		"github.com/redis/go-redis/v9": true, "github.com/cespare/xxhash/v2": true, "go.uber.org/atomic": true,
		"github.com/go-jose/go-jose/v4":       true,
		"github.com/prometheus/client_golang": true, "github.com/prometheus/client_model": true,
		"github.com/prometheus/common": true, "github.com/prometheus/procfs": true,
		"github.com/beorn7/perks": true, "github.com/munnerz/goautoneg": true,
		"golang.org/x/sys": true, "google.golang.org/protobuf": true,
		// The trace API alone, for the validation span event (its module
		// go.opentelemetry.io/otel brings attribute and codes); never the SDK.
		"go.opentelemetry.io/otel/trace": true, "go.opentelemetry.io/otel": true,
	}
	bannedStd := []string{"database/sql", "net/rpc"}

	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{with .Module}}{{.Path}}{{end}}", mod+"/session").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		pkg, std := f[0], f[1] == "true"
		switch {
		case std:
			for _, b := range bannedStd {
				if pkg == b || strings.HasPrefix(pkg, b+"/") {
					t.Errorf("session depends on %s", pkg)
				}
			}
		case len(f) < 3:
			t.Errorf("session depends on %s, which belongs to no module", pkg)
		case f[2] == mod:
			if !allowedPackages[pkg] {
				t.Errorf("session depends on %s: validators must not link it (or add it to the allow-list if a validator runs it)", pkg)
			}
		case !allowedModules[f[2]]:
			t.Errorf("session depends on %s (module %s), which is not on the allow-list", pkg, f[2])
		}
	}
}

// TestNoDiscardingLoggers: a logger left unset means slog.Default(), never
// a logger that drops messages, so the warnings of degraded modes are seen.
// Only tests may discard logs.
func TestNoDiscardingLoggers(t *testing.T) {
	root := moduleRoot(t)
	for _, p := range packages(t) {
		for path, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				if what := discardingLogger(n); what != "" {
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s: %s drops log messages; default to slog.Default() instead", rel, what)
				}
				return true
			})
		}
	}
}

// discardingLogger names n when it is slog.DiscardHandler or a slog
// handler writing to io.Discard, and returns "" otherwise.
func discardingLogger(n ast.Node) string {
	isSel := func(e ast.Expr, pkg, name string) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		id, ok := s.X.(*ast.Ident)
		return ok && id.Name == pkg && s.Sel.Name == name
	}
	switch n := n.(type) {
	case *ast.SelectorExpr:
		if isSel(n, "slog", "DiscardHandler") {
			return "slog.DiscardHandler"
		}
	case *ast.CallExpr:
		if (isSel(n.Fun, "slog", "NewTextHandler") || isSel(n.Fun, "slog", "NewJSONHandler")) &&
			len(n.Args) > 0 && isSel(n.Args[0], "io", "Discard") {
			return "a slog handler on io.Discard"
		}
	}
	return ""
}
