package bearer_test

import (
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/bearer"
)

func TestToken(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	for _, tc := range []struct {
		name, value, want string
	}{
		{"canonical", "Bearer " + jwt, jwt},
		{"lower-case scheme", "bearer " + jwt, jwt},
		{"upper-case scheme", "BEARER " + jwt, jwt},
		{"token68 alphabet", "Bearer aZ09-._~+/==", "aZ09-._~+/=="},
		{"padding only at the end", "Bearer a=b", ""},
		{"padding alone", "Bearer ==", ""},
		{"empty", "", ""},
		{"scheme alone", "Bearer", ""},
		{"scheme and space", "Bearer ", ""},
		{"several spaces", "Bearer   " + jwt, jwt},
		{"tab separator", "Bearer\t" + jwt, ""},
		{"leading space", " Bearer " + jwt, ""},
		{"trailing space", "Bearer " + jwt + " ", ""},
		{"two tokens", "Bearer a b", ""},
		{"other scheme", "Basic dXNlcjpwYXNz", ""},
		{"scheme prefix", "Bearerx " + jwt, ""},
		{"control bytes", "Bearer \x00\x01garbage", ""},
		{"non-ASCII", "Bearer t\xc3\xa9", ""},
		{"quoted", `Bearer "` + jwt + `"`, ""},
		{"at the bound", "Bearer " + strings.Repeat("A", bearer.MaxHeaderBytes-7), strings.Repeat("A", bearer.MaxHeaderBytes-7)},
		{"over the bound", "Bearer " + strings.Repeat("A", bearer.MaxHeaderBytes-6), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bearer.Token(tc.value); got != tc.want {
				t.Errorf("Token(%.40q) = %.40q; want %.40q", tc.value, got, tc.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "a": true, "aZ09-._~+/": true, "abc==": true, "=": false, "a=b": false,
		"a b": false, "a\tb": false, "tok!": false, "t\xc3\xa9": false, "$ecret": false,
	} {
		if got := bearer.Valid(s); got != want {
			t.Errorf("Valid(%q) = %v; want %v", s, got, want)
		}
	}
}

// FuzzToken: whatever the value, a token comes back only from a value that
// is exactly "bearer " (any case) and spaces followed by it.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "Bearer x", "bearer a.b.c", "Bearer  x", "Bearer x=", "Basic x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok := bearer.Token(v)
		if tok == "" {
			return
		}
		if !strings.EqualFold(v[:7], "bearer ") || strings.TrimLeft(v[6:], " ") != tok {
			t.Fatalf("Token(%q) = %q", v, tok)
		}
	})
}

// TestValidByte checks Valid against the alphabet's definition for every
// byte, alone, padded, and at each position of an eight-byte block.
func TestValidByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("-._~+/", b) >= 0
		for _, s := range []string{
			string(b), string(b) + "==", "abcdefghijklmnop"[:7] + string(b), "abcdefgh" + string(b) + "ijklmnop",
			"abcdefghijklmno" + string(b), string(b) + "abcdefghijklmno",
		} {
			if got := bearer.Valid(s); got != want && b != '=' {
				t.Errorf("Valid(%q) = %v; want %v", s, got, want)
			}
		}
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{{"=", false}, {"a=", true}, {"a=b", false}, {"abcdefgh=", true}, {"abcdefgh=i", false}, {"", false}} {
		if got := bearer.Valid(tc.s); got != tc.want {
			t.Errorf("Valid(%q) = %v; want %v", tc.s, got, tc.want)
		}
	}
}
