package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is returned by Verify for an encoded hash that is not an
// argon2id PHC string this package can check.
var ErrMalformedHash = errors.New("password: malformed hash")

// Bounds on parameters read from a stored hash, so that a corrupted or
// hostile value cannot make Verify allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 128
)

var b64 = base64.RawStdEncoding

// encode formats a PHC string.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC string produced by encode. The returned Params carry
// the salt and key lengths found in the string.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	fail := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	if len(encoded) > 512 {
		return fail("too long")
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want 5 $-separated fields")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("unsupported version")
	}
	if p, err = decodeParams(parts[3]); err != nil {
		return fail(err.Error())
	}
	if salt, err = b64.Strict().DecodeString(parts[4]); err != nil {
		return fail("salt is not base64")
	}
	if key, err = b64.Strict().DecodeString(parts[5]); err != nil {
		return fail("hash is not base64")
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return fail("salt length out of range")
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return fail("hash length out of range")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// decodeParams parses "m=…,t=…,p=…" (exactly these keys, in this order).
func decodeParams(s string) (Params, error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return Params{}, errors.New("want m, t and p parameters")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return Params{}, fmt.Errorf("parameter %d is not %s", i+1, name)
		}
		// Reject signs, leading zeros and other non-canonical forms.
		if v == "" || (len(v) > 1 && v[0] == '0') || strings.TrimLeft(v, "0123456789") != "" {
			return Params{}, fmt.Errorf("parameter %s is not a number", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, fmt.Errorf("parameter %s out of range", name)
		}
		vals[i] = n
	}
	p := Params{Memory: uint32(vals[0]), Iterations: uint32(vals[1])}
	switch {
	case vals[2] < 1 || vals[2] > 255:
		return Params{}, errors.New("parallelism out of range")
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return Params{}, errors.New("iterations out of range")
	case p.Memory < 8*uint32(vals[2]) || p.Memory > maxMemoryKiB:
		return Params{}, errors.New("memory out of range")
	}
	p.Parallelism = uint8(vals[2])
	return p, nil
}
