package graph

import (
	"strings"
	"testing"
)

func TestCacheable(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  bool
	}{
		{"variables", `mutation($t: String!) { refreshToken(token: $t) { token } }`, true},
		{"no arguments", `{ me { id email } }`, true},
		{"enum, int and list literals", `{ a(x: 1, y: [2, 3], z: ON, w: {k: 4.5}) }`, true},
		{"string argument", `mutation { refreshToken(token: "eyJhbGciOi.x.y") { token } }`, false},
		{"block string", `mutation { refreshToken(token: """eyJ""") { token } }`, false},
		{"string in a variable default", `query($p: String = "pw") { me { id } }`, false},
		{"string in a directive", `{ me @include(if: "x") { id } }`, false},
		{"comment", "# password hunter2\n{ me { id } }", false},
		{"too long", "{ me { id " + strings.Repeat(" ", maxCachedQuery) + "} }", false},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cacheable(tt.query); got != tt.want {
				t.Errorf("cacheable(%.60q) = %v; want %v", tt.query, got, tt.want)
			}
		})
	}
}
