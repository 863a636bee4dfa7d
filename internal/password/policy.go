package password

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Policy limits. Lengths are counted in characters (Unicode code points).
const (
	MinLength = 8
	MaxLength = 128
	// MaxBytes bounds the encoded size so that 128 characters of many-byte
	// code points cannot turn into an oversized input.
	MaxBytes = 512
)

// Policy errors. Their messages are written to be shown to the person
// choosing the password.
var (
	ErrTooShort = errors.New("password must be at least 8 characters")
	ErrTooLong  = errors.New("password must be at most 128 characters")
	ErrInvalid  = errors.New("password must be valid text without control characters")
)

// CheckPolicy reports whether password may be chosen as a new password:
// valid UTF-8 without control characters (NUL, tab, newline, DEL, C1),
// between MinLength and MaxLength characters and at most MaxBytes bytes.
// It returns ErrInvalid, ErrTooShort or ErrTooLong, or nil.
func CheckPolicy(password string) error {
	if len(password) > MaxBytes {
		return ErrTooLong
	}
	if !utf8.ValidString(password) {
		return ErrInvalid
	}
	n := 0
	for _, r := range password {
		if unicode.IsControl(r) {
			return ErrInvalid
		}
		n++
	}
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	return nil
}
