package deployments

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The dashboards and alerts name metrics the code exports; these tests
// keep them from drifting apart: every authmesh_* metric named in
// deployments/grafana/*.json and deployments/prometheus/alerts.yml must be
// registered somewhere in the module's code.

// metricName matches a metric name in a PromQL expression.
var metricName = regexp.MustCompile(`\bauthmesh_[a-z0-9_]+\b`)

// registeredMetrics finds the metric names the module registers: the Name
// of every prometheus.*Opts literal and the first argument of every
// prometheus.NewDesc, in non-test Go files. A histogram's name also
// accounts for its _bucket, _sum and _count series.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Name") {
						if name, ok := stringLit(kv.Value); ok {
							names[name] = true
							if sel.Sel.Name == "HistogramOpts" {
								for _, suffix := range []string{"_bucket", "_sum", "_count"} {
									names[name+suffix] = true
								}
							}
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
					if name, ok := stringLit(n.Args[0]); ok {
						names[name] = true
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 5 {
		t.Fatalf("found only %d registered metrics: the scan is broken", len(names))
	}
	return names
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil && strings.HasPrefix(s, "authmesh_")
}

// dashboard is the part of a Grafana dashboard the tests check.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Panels        []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos *struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// dashboards loads every deployments/grafana/*.json, failing on JSON that
// does not load or a panel without a place or a query.
func dashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob("grafana/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in deployments/grafana (%v)", err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
			t.Fatalf("%s: want a title, a uid, a schemaVersion and panels", f)
		}
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if ids[p.ID] || p.Title == "" || p.GridPos == nil {
				t.Errorf("%s: panel %d %q: want a unique id, a title and a gridPos", f, p.ID, p.Title)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, q := range p.Targets {
				if q.Expr == "" || q.RefID == "" {
					t.Errorf("%s: panel %q: a target without expr or refId", f, p.Title)
				}
			}
		}
		out[f] = d
	}
	return out
}

// alertRules is the part of a Prometheus rule file the tests check.
type alertRules struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Alert, Expr string
		}
	}
}

func loadAlerts(t *testing.T) alertRules {
	t.Helper()
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	if err := yaml.Unmarshal(b, &r); err != nil {
		t.Fatalf("prometheus/alerts.yml: %v", err)
	}
	return r
}

// TestObservabilityNamesExportedMetrics: every metric a dashboard or an
// alert reads is one the code registers, and together they cover what
// operators must watch.
func TestObservabilityNamesExportedMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	used := map[string][]string{} // metric -> where
	for f, d := range dashboards(t) {
		for _, p := range d.Panels {
			for _, q := range p.Targets {
				for _, m := range metricName.FindAllString(q.Expr, -1) {
					used[m] = append(used[m], f+": "+p.Title)
				}
			}
		}
	}
	alerts := loadAlerts(t)
	var names []string
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				used[m] = append(used[m], "alerts.yml: "+r.Alert)
			}
		}
	}
	for m, where := range used {
		if !registered[m] {
			t.Errorf("%s is not registered by any code, but %s read it", m, strings.Join(slices.Compact(slices.Sorted(slices.Values(where))), "; "))
		}
	}
	// What the operations guide promises to watch, each with an alert.
	for _, want := range []string{
		"AuthmeshLoginFailureRateHigh", "AuthmeshRateLimitedRequests", "AuthmeshRefreshTokenReuse",
		"AuthmeshRevocationStateStale", "AuthmeshValidatorNotReady", "AuthmeshFeedClientsDropped",
		"AuthmeshHTTPErrors", "AuthmeshLatencyP99High",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("alerts.yml has no %s", want)
		}
	}
}

// TestAlertRulesCheck runs Prometheus' promtool (Debian's prometheus
// package, which scripts/test.sh installs) on the rules: `check rules`
// validates them, `test rules` runs their unit tests (alerts_test.yml).
func TestAlertRulesCheck(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run the tests with scripts/test.sh, which installs it (apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
}
