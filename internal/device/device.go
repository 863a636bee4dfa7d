// Package device describes a client device from its User-Agent header, for
// the session list an account owner sees ("Chrome 120 on macOS", desktop).
// It is a best-effort label, never a security decision: User-Agent is
// whatever the client says.
package device

import (
	"strings"
	"unicode/utf8"

	"github.com/mssola/useragent"
)

// Device types, as Info.Type.
const (
	TypeDesktop = "desktop"
	TypeMobile  = "mobile"
	TypeTablet  = "tablet"
	TypeBot     = "bot"
	TypeUnknown = "unknown"
)

// MaxUserAgent is how much of a User-Agent is parsed; the rest is ignored.
const MaxUserAgent = 512

// maxProduct bounds a product name taken from an unrecognised client.
const maxProduct = 40

// unknownName is Info.Name when nothing useful can be said.
const unknownName = "Unknown device"

// Info is what a User-Agent says about the device.
type Info struct {
	Type string // one of the Type constants
	Name string // e.g. "Chrome 120 on macOS", "curl 8", "Googlebot 2"
}

// Parse describes the device of a User-Agent header value. It never fails:
// empty or unrecognisable input gives TypeUnknown. Parse is safe for
// concurrent use.
func Parse(userAgent string) Info {
	if len(userAgent) > MaxUserAgent {
		userAgent = userAgent[:MaxUserAgent]
	}
	userAgent = strings.TrimSpace(strings.ToValidUTF8(userAgent, ""))
	if userAgent == "" {
		return Info{Type: TypeUnknown, Name: unknownName}
	}
	ua := useragent.New(userAgent)
	browser, version := ua.Browser()
	product := productName(browser, version)
	if ua.Bot() {
		return Info{Type: TypeBot, Name: orUnknown(product)}
	}
	os := osName(ua)
	if os == "" {
		return Info{Type: TypeUnknown, Name: orUnknown(product)}
	}
	t := TypeDesktop
	switch {
	case ua.Platform() == "iPad",
		os == "Android" && !strings.Contains(userAgent, "Mobile"):
		t = TypeTablet
	case ua.Mobile():
		t = TypeMobile
	}
	if product == "" {
		return Info{Type: t, Name: os}
	}
	return Info{Type: t, Name: product + " on " + os}
}

// productName is "Chrome 120" from ("Chrome", "120.0.1"), or "" when the
// name is not a plain product token.
func productName(name, version string) string {
	if !plainToken(name) {
		return ""
	}
	major, _, _ := strings.Cut(version, ".")
	if !plainToken(major) {
		return name
	}
	return name + " " + major
}

// plainToken reports whether s is a short run of letters, digits and
// ".-_ " (no control or markup characters).
func plainToken(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxProduct {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune(".-_ ", r):
		default:
			return false
		}
	}
	return true
}

// osName is a friendly operating-system name, or "" when none is known.
func osName(ua *useragent.UserAgent) string {
	if ua.Platform() == "iPad" {
		return "iPadOS"
	}
	name := ua.OSInfo().Name
	switch {
	case name == "":
		return ""
	case strings.HasPrefix(name, "Windows"):
		return "Windows"
	case strings.HasPrefix(name, "Mac OS"):
		return "macOS"
	case name == "iPhone OS" || name == "iPod OS" || ua.Platform() == "iPhone":
		return "iOS"
	case strings.HasPrefix(name, "Android"):
		return "Android"
	case strings.HasPrefix(name, "CrOS"):
		return "ChromeOS"
	case strings.Contains(name, "Linux"), name == "Ubuntu", name == "Fedora", name == "Debian":
		return "Linux"
	case plainToken(name):
		return name
	default:
		return ""
	}
}

func orUnknown(s string) string {
	if s == "" {
		return unknownName
	}
	return s
}
