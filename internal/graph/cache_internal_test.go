package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestShapeOf(t *testing.T) {
	tests := []struct {
		name  string
		query string
		key   string // "" when the text is not cached
	}{
		{"variables", `mutation($t: String!) { refreshToken(token: $t) { token } }`, `mutation($t: String!) { refreshToken(token: $t) { token } }`},
		{"no arguments", `{ me { id email } }`, `{ me { id email } }`},
		{"enum, int and list literals", `{ a(x: 1, y: [2, 3], z: ON, w: {k: 4.5}) }`, `{ a(x: 1, y: [2, 3], z: ON, w: {k: 4.5}) }`},
		{"string argument", `mutation { refreshToken(token: "eyJhbGciOi.x.y") { token } }`, `mutation { refreshToken(token: "") { token } }`},
		{"escapes", `mutation { login(input: {email: "a@b.c", password: "p\"w\\\u00e9"}) { token } }`, `mutation { login(input: {email: "", password: ""}) { token } }`},
		{"block string", `mutation { refreshToken(token: """eyJ""") { token } }`, `mutation { refreshToken(token: "") { token } }`},
		{"non-ASCII before and after", `{ a(x: "ü€", y: "ß") { b } }`, `{ a(x: "", y: "") { b } }`},
		{"string in a variable default", `query($p: String = "pw") { me { id } }`, `query($p: String = "") { me { id } }`},
		{"comment", "# password hunter2\n{ me { id } }", ""},
		{"too long", "{ me { id " + strings.Repeat(" ", maxCachedQuery) + "} }", ""},
		{"unterminated string", `{ a(x: "pw) }`, ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := shapeOf(tt.query)
			if tt.key == "" {
				if ok && tt.query != "" {
					t.Errorf("shapeOf(%.60q) = %q; want not cached", tt.query, s.key)
				}
				return
			}
			if !ok || s.key != tt.key {
				t.Errorf("shapeOf(%.60q) = %q, %v; want %q", tt.query, s.key, ok, tt.key)
			}
		})
	}
}

// A document served from the cache is the document a fresh parse gives:
// the request's own string values and positions, the template's
// validation.
func TestDocCacheRebases(t *testing.T) {
	d, err := newDocCache()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := `mutation { login(input: {email: "first@example.com", password: "secret-one"}) { token } }`
	second := "mutation   {\n  login(input: {email: \"é@example.com\", password: \"\"\"the second, longer secret\"\"\"}) { token } }"
	second = strings.Replace(second, `"""the second, longer secret"""`, `"the second, longer secret"`, 1)
	doc, err := parser.ParseQuery(&ast.Source{Input: first})
	if err != nil {
		t.Fatal(err)
	}
	d.Add(ctx, first, doc)
	if _, ok := d.Get(ctx, second); ok {
		t.Fatalf("Get(%q) hit; want a miss (whitespace differs, so does the shape)", second)
	}
	again := `mutation { login(input: {email: "é@example.com", password: "the second, longer secret"}) { token } }`
	got, ok := d.Get(ctx, again)
	if !ok {
		t.Fatalf("Get(%q): miss; want a hit", again)
	}
	want, err := parser.ParseQuery(&ast.Source{Input: again})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := format(got), format(want); g != w {
		t.Errorf("cached document prints as\n%s\nwant\n%s", g, w)
	}
	gotArgs := got.Operations[0].SelectionSet[0].(*ast.Field).Arguments[0].Value.Children
	wantArgs := want.Operations[0].SelectionSet[0].(*ast.Field).Arguments[0].Value.Children
	for i := range wantArgs {
		g, w := gotArgs[i].Value, wantArgs[i].Value
		gp, wp := *g.Position, *w.Position
		gp.Src, wp.Src = nil, nil
		if g.Raw != w.Raw || gp != wp || g.Position.Src.Input != again {
			t.Errorf("value %d: %q at %+v in %q; want %q at %+v", i, g.Raw, gp, g.Position.Src.Input, w.Raw, wp)
		}
	}
	tmpl, _ := d.c.Get(`mutation { login(input: {email: "", password: ""}) { token } }`)
	if printed := format(tmpl.doc) + tmpl.doc.Operations[0].Position.Src.Input; strings.Contains(printed, "first@example.com") || strings.Contains(printed, "secret-one") {
		t.Errorf("the template keeps the first document's values: %s", printed)
	}
}

func format(doc *ast.QueryDocument) string {
	var b strings.Builder
	formatter.NewFormatter(&b).FormatQueryDocument(doc)
	return b.String()
}
