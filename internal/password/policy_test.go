package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/password"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		name, pw string
		want     error
	}{
		{"ok", "Test1234!", nil},
		{"exactly 8", "abcdefgh", nil},
		{"7", "abcdefg", password.ErrTooShort},
		{"empty", "", password.ErrTooShort},
		{"8 multibyte chars", "ééééééé é", nil},
		{"7 multibyte chars (14 bytes)", "ééééééé", password.ErrTooShort},
		{"128", strings.Repeat("a", 128), nil},
		{"129", strings.Repeat("a", 129), password.ErrTooLong},
		{"128 four-byte chars (512 bytes)", strings.Repeat("😀", 128), nil},
		{"127 four-byte chars", strings.Repeat("😀", 127), nil},
		{"over 512 bytes", strings.Repeat("😀", 129), password.ErrTooLong},
		{"huge", strings.Repeat("a", 1<<20), password.ErrTooLong},
		{"invalid utf8", "abcdefgh\xff", password.ErrInvalid},
		{"nul", "abcd\x00efgh", password.ErrInvalid},
		{"newline", "abcdefgh\n", password.ErrInvalid},
		{"tab", "abcd\tefgh", password.ErrInvalid},
		{"del", "abcdefgh\x7f", password.ErrInvalid},
		{"c1 control", "abcdefgh\u0085", password.ErrInvalid},
		{"spaces allowed", "correct horse battery", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := password.CheckPolicy(tt.pw); !errors.Is(got, tt.want) {
				t.Errorf("CheckPolicy = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestPolicyMessagesAreActionable(t *testing.T) {
	if got := password.ErrTooShort.Error(); got != "password must be at least 8 characters" {
		t.Errorf("ErrTooShort = %q", got)
	}
	if got := password.ErrTooLong.Error(); !strings.Contains(got, "128") {
		t.Errorf("ErrTooLong = %q; want it to name the limit", got)
	}
}
