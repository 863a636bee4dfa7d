package auth

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// maxEmailLen is RFC 5321's limit on a forward path.
const maxEmailLen = 254

// NormalizeEmail trims an address, folds compatibility characters with
// Unicode NFKC (so a full-width "ａ" or a ligature "ﬁ" is the plain
// letter), lower-cases it, and checks that it is a plain addr-spec
// ("a@b.c", no display name). Two addresses that look alike only through
// such variants therefore name one account.
func NormalizeEmail(email string) (string, error) {
	e := norm.NFKC.String(strings.ToLower(norm.NFKC.String(strings.TrimSpace(email))))
	return checkEmail(e)
}

// legacyEmail is how addresses were normalised before NFKC: trimmed and
// lower-cased only. Accounts registered then keep their stored form.
func legacyEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func checkEmail(e string) (string, error) {
	if e == "" {
		return "", newError(CodeBadUserInput, "email is required")
	}
	if len(e) > maxEmailLen {
		return "", newError(CodeBadUserInput, "email must be at most 254 characters")
	}
	a, err := mail.ParseAddress(e)
	at := strings.LastIndexByte(e, '@')
	if err != nil || a.Address != e || at < 1 || !strings.Contains(e[at+1:], ".") {
		return "", newError(CodeBadUserInput, "email must be a valid address like name@example.com")
	}
	return e, nil
}

// errMixedScripts refuses a look-alike address at registration.
var errMixedScripts = newError(CodeBadUserInput,
	"email mixes writing systems in one part (for example Latin and Cyrillic letters), which lets it pass for another address: use one script for the name and one per domain label")

// checkScripts is the confusable rule for new addresses: the local part,
// and each label of the domain, must be written in one script. Digits,
// punctuation and combining marks (Unicode's Common and Inherited) go with
// any script, and Han may join the scripts written with it (Hiragana and
// Katakana, Hangul, Bopomofo). So "pаypal" with a Cyrillic "а" is refused,
// while "josé", "иван@почта.рф" and "山田たろう@example.jp" are accepted.
func checkScripts(email string) error {
	at := strings.LastIndexByte(email, '@')
	parts := append([]string{email[:at]}, strings.Split(email[at+1:], ".")...)
	for _, p := range parts {
		if !singleScript(p) {
			return errMixedScripts
		}
	}
	return nil
}

// scripts a letter may belong to, for checkScripts.
var scripts = map[string]*unicode.RangeTable{
	"Latin": unicode.Latin, "Greek": unicode.Greek, "Cyrillic": unicode.Cyrillic,
	"Armenian": unicode.Armenian, "Georgian": unicode.Georgian, "Hebrew": unicode.Hebrew,
	"Arabic": unicode.Arabic, "Devanagari": unicode.Devanagari, "Bengali": unicode.Bengali,
	"Thai": unicode.Thai, "Han": unicode.Han, "Hiragana": unicode.Hiragana,
	"Katakana": unicode.Katakana, "Hangul": unicode.Hangul, "Bopomofo": unicode.Bopomofo,
	"Cherokee": unicode.Cherokee, "Ethiopic": unicode.Ethiopic, "Tamil": unicode.Tamil,
}

// withHan are the scripts Han is written together with.
var withHan = map[string]bool{"Hiragana": true, "Katakana": true, "Hangul": true, "Bopomofo": true}

// singleScript reports whether the letters of s are of one script (Han
// joined by its companions counting as one).
func singleScript(s string) bool {
	seen := map[string]bool{}
	for _, r := range s {
		if unicode.In(r, unicode.Common, unicode.Inherited) {
			continue
		}
		name := "Other"
		for n, t := range scripts {
			if unicode.Is(t, r) {
				name = n
				break
			}
		}
		seen[name] = true
	}
	if len(seen) <= 1 {
		return true
	}
	companions := 0
	for n := range seen {
		switch {
		case n == "Han":
		case withHan[n]:
			companions++
		default:
			return false
		}
	}
	// Japanese mixes Hiragana and Katakana with Han; Korean and Chinese
	// add only Hangul or Bopomofo.
	return companions <= 1 || (companions == 2 && seen["Hiragana"] && seen["Katakana"])
}

// loginEmail normalises the email of a login. An account registered before
// NFKC normalisation keeps its stored (lower-cased) form: when no account
// has the NFKC form but one has the old form, the old form is used, so
// existing accounts keep working.
func (s *Service) loginEmail(ctx context.Context, email string) (string, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	old := legacyEmail(email)
	if old == e {
		return e, nil
	}
	if _, err := s.cfg.Users.UserByEmail(ctx, e); !errors.Is(err, ErrNotFound) {
		return e, nil
	}
	if _, err := s.cfg.Users.UserByEmail(ctx, old); err == nil {
		return old, nil
	}
	return e, nil
}
