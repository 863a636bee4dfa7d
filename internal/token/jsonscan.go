package token

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// This file is a small, strict JSON reader for the two flat objects Verify
// reads on every request, the JOSE header and the claims. It is several
// times cheaper than encoding/json with reflection, matches member names
// exactly (encoding/json matches them case-insensitively), and rejects
// an object whose members repeat a name (after unescaping), as go-jose does,
// so no two JOSE parsers can read one token differently
// (FuzzVerifyDifferential checks this against go-jose).

var errJSON = errors.New("token: invalid JSON")

// maxJSONDepth bounds nesting inside skipped member values.
const maxJSONDepth = 32

// jsonKind is the type of a JSON value.
type jsonKind uint8

const (
	jsonString jsonKind = iota + 1
	jsonNumber
	jsonArray
	jsonObject
	jsonLiteral // true, false
	jsonNull
)

// jsonValue is one member value: its kind and raw bytes; for strings, raw
// holds the bytes between the quotes and escaped tells whether they need
// unescaping.
type jsonValue struct {
	kind    jsonKind
	raw     []byte
	escaped bool
}

// str returns the decoded string of a jsonString value.
func (v jsonValue) str() (string, error) {
	if v.kind != jsonString {
		return "", errJSON
	}
	if !v.escaped {
		return string(v.raw), nil
	}
	return unescape(v.raw)
}

// boolean returns the value of a true or false literal.
func (v jsonValue) boolean() (bool, error) {
	if v.kind != jsonLiteral {
		return false, errJSON
	}
	return string(v.raw) == "true", nil
}

// memberSet remembers the member names of one object to detect repeats:
// a linear scan for the few members of a real token, a map beyond.
type memberSet struct {
	few  [16][]byte
	n    int
	many map[string]struct{}
}

// add records name and reports false if it was already there.
func (s *memberSet) add(name []byte) bool {
	if s.many != nil {
		if _, dup := s.many[string(name)]; dup {
			return false
		}
		s.many[string(name)] = struct{}{}
		return true
	}
	for _, seen := range s.few[:s.n] {
		if string(seen) == string(name) {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = name
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, seen := range s.few {
		s.many[string(seen)] = struct{}{}
	}
	s.many[string(name)] = struct{}{}
	return true
}

// scanObject calls member for each member of the JSON object data, in order,
// with the member's unescaped name (valid only during the call). A repeated
// name is an error.
func scanObject(data []byte, member func(name []byte, v jsonValue) error) error {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errJSON
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return endOfInput(data, i+1)
	}
	var names memberSet
	for {
		if i >= len(data) || data[i] != '"' {
			return errJSON
		}
		key, keyEsc, next, err := scanString(data, i)
		if err != nil {
			return err
		}
		if keyEsc {
			s, err := unescape(key)
			if err != nil {
				return err
			}
			key = []byte(s)
		}
		if !names.add(key) {
			return errJSON
		}
		i = skipWS(data, next)
		if i >= len(data) || data[i] != ':' {
			return errJSON
		}
		v, next, err := scanValue(data, skipWS(data, i+1), 0)
		if err != nil {
			return err
		}
		if err := member(key, v); err != nil {
			return err
		}
		i = skipWS(data, next)
		if i >= len(data) {
			return errJSON
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return endOfInput(data, i+1)
		default:
			return errJSON
		}
	}
}

func endOfInput(data []byte, i int) error {
	if skipWS(data, i) != len(data) {
		return errJSON
	}
	return nil
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// scanValue reads the value starting at data[i] and returns the index after it.
func scanValue(data []byte, i, depth int) (jsonValue, int, error) {
	if i >= len(data) || depth > maxJSONDepth {
		return jsonValue{}, 0, errJSON
	}
	switch c := data[i]; {
	case c == '"':
		s, esc, next, err := scanString(data, i)
		return jsonValue{kind: jsonString, raw: s, escaped: esc}, next, err
	case c == '{' || c == '[':
		next, err := scanComposite(data, i, depth)
		if err != nil {
			return jsonValue{}, 0, err
		}
		kind := jsonObject
		if c == '[' {
			kind = jsonArray
		}
		return jsonValue{kind: kind, raw: data[i:next]}, next, nil
	case c == '-' || (c >= '0' && c <= '9'):
		next, err := scanNumber(data, i)
		if err != nil {
			return jsonValue{}, 0, err
		}
		return jsonValue{kind: jsonNumber, raw: data[i:next]}, next, nil
	}
	for _, lit := range [...]struct {
		s    string
		kind jsonKind
	}{{"true", jsonLiteral}, {"false", jsonLiteral}, {"null", jsonNull}} {
		if len(data)-i >= len(lit.s) && string(data[i:i+len(lit.s)]) == lit.s {
			return jsonValue{kind: lit.kind, raw: data[i : i+len(lit.s)]}, i + len(lit.s), nil
		}
	}
	return jsonValue{}, 0, errJSON
}

// scanComposite validates the array or object at data[i].
func scanComposite(data []byte, i, depth int) (int, error) {
	open := data[i]
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == closing {
		return i + 1, nil
	}
	for {
		if open == '{' {
			if i >= len(data) || data[i] != '"' {
				return 0, errJSON
			}
			_, _, next, err := scanString(data, i)
			if err != nil {
				return 0, err
			}
			i = skipWS(data, next)
			if i >= len(data) || data[i] != ':' {
				return 0, errJSON
			}
			i = skipWS(data, i+1)
		}
		_, next, err := scanValue(data, i, depth+1)
		if err != nil {
			return 0, err
		}
		i = skipWS(data, next)
		if i >= len(data) {
			return 0, errJSON
		}
		if data[i] == closing {
			return i + 1, nil
		}
		if data[i] != ',' {
			return 0, errJSON
		}
		i = skipWS(data, i+1)
	}
}

// scanString reads the string at data[i] (the opening quote) and returns its
// contents without quotes, whether it contains escapes, and the next index.
func scanString(data []byte, i int) ([]byte, bool, int, error) {
	start, escaped := i+1, false
	for j := start; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			if !escaped && !utf8.Valid(data[start:j]) {
				return nil, false, 0, errJSON
			}
			return data[start:j], escaped, j + 1, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(data) {
				return nil, false, 0, errJSON
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if !isHex4(data[j+2:]) {
					return nil, false, 0, errJSON
				}
				j += 5
			default:
				return nil, false, 0, errJSON
			}
		case c < 0x20:
			return nil, false, 0, errJSON
		}
	}
	return nil, false, 0, errJSON
}

// unescape decodes the contents of a JSON string that contains escapes. It
// is the rare path (tokens this package issues contain no escapes), so it
// uses encoding/json, whose decoding of escapes (a lone surrogate becomes
// U+FFFD) is the one go-jose's reader shares; invalid UTF-8 is refused.
func unescape(s []byte) (string, error) {
	if !utf8.Valid(s) {
		return "", errJSON
	}
	quoted := make([]byte, 0, len(s)+2)
	quoted = append(append(append(quoted, '"'), s...), '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return "", errJSON
	}
	return out, nil
}

// isHex4 reports whether s starts with four hexadecimal digits.
func isHex4(s []byte) bool {
	if len(s) < 4 {
		return false
	}
	for _, c := range s[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// scanNumber validates the JSON number at data[i] and returns the next index.
func scanNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case digits() == 0:
		return 0, errJSON
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return 0, errJSON
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, errJSON
		}
	}
	return i, nil
}

// maxNumericDate bounds NumericDate values to ±2^53 seconds (beyond any real
// date): every such integer is exact as a float64, so readers that parse
// dates as floating point (go-jose) read the same value, and exp - iat
// cannot overflow.
const maxNumericDate = 1 << 53

// numericDate reads a NumericDate: seconds, a fraction is truncated.
func (v jsonValue) numericDate() (int64, error) {
	if v.kind != jsonNumber {
		return 0, errJSON
	}
	if n, err := strconv.ParseInt(string(v.raw), 10, 64); err == nil {
		if n > maxNumericDate || n < -maxNumericDate {
			return 0, errJSON
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(string(v.raw), 64)
	if err != nil || f > maxNumericDate || f < -maxNumericDate {
		return 0, errJSON
	}
	return int64(math.Trunc(f)), nil
}

// integer reads an integral JSON number.
func (v jsonValue) integer() (int64, error) {
	if v.kind != jsonNumber {
		return 0, errJSON
	}
	n, err := strconv.ParseInt(string(v.raw), 10, 64)
	if err != nil {
		return 0, errJSON
	}
	return n, nil
}

// strings reads a string or an array of strings (the aud claim).
func (v jsonValue) strings() ([]string, error) {
	if v.kind == jsonString {
		s, err := v.str()
		return []string{s}, err
	}
	if v.kind != jsonArray {
		return nil, errJSON
	}
	var out []string
	i := skipWS(v.raw, 1)
	if v.raw[i] == ']' {
		return []string{}, nil
	}
	for {
		e, next, err := scanValue(v.raw, i, 1)
		if err != nil {
			return nil, err
		}
		s, err := e.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		i = skipWS(v.raw, next)
		if v.raw[i] == ']' {
			return out, nil
		}
		i = skipWS(v.raw, i+1) // ',' (validated by scanComposite)
	}
}
