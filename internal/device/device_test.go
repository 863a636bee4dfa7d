package device_test

import (
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/device"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, ua string
		want     device.Info
	}{
		{"Chrome on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			device.Info{Type: "desktop", Name: "Chrome 120 on Windows"}},
		{"Chrome on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			device.Info{Type: "desktop", Name: "Chrome 120 on macOS"}},
		{"Safari on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
			device.Info{Type: "desktop", Name: "Safari 17 on macOS"}},
		{"Edge on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
			device.Info{Type: "desktop", Name: "Edge 120 on Windows"}},
		{"Safari on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
			device.Info{Type: "mobile", Name: "Safari 17 on iOS"}},
		{"Safari on iPad", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			device.Info{Type: "tablet", Name: "Safari 16 on iPadOS"}},
		{"Firefox on Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			device.Info{Type: "desktop", Name: "Firefox 121 on Linux"}},
		{"Firefox on Ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			device.Info{Type: "desktop", Name: "Firefox 121 on Linux"}},
		{"Chrome on ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			device.Info{Type: "desktop", Name: "Chrome 120 on ChromeOS"}},
		{"Android phone", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
			device.Info{Type: "mobile", Name: "Chrome 120 on Android"}},
		{"Android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			device.Info{Type: "tablet", Name: "Chrome 120 on Android"}},
		{"curl", "curl/8.4.0", device.Info{Type: "unknown", Name: "curl 8"}},
		{"Go client", "Go-http-client/1.1", device.Info{Type: "unknown", Name: "Go-http-client 1"}},
		{"Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			device.Info{Type: "bot", Name: "Googlebot 2"}},
		{"Googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			device.Info{Type: "bot", Name: "Googlebot 2"}},
		{"empty", "", device.Info{Type: "unknown", Name: "Unknown device"}},
		{"blank", "   ", device.Info{Type: "unknown", Name: "Unknown device"}},
		{"markup", "<script>alert(1)</script>", device.Info{Type: "unknown", Name: "Unknown device"}},
		{"invalid UTF-8", "\xff\xfe\x00", device.Info{Type: "unknown", Name: "Unknown device"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := device.Parse(tt.ua); got != tt.want {
				t.Errorf("Parse(%q) = %+v; want %+v", tt.ua, got, tt.want)
			}
		})
	}
}

func TestParseHostile(t *testing.T) {
	chrome := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	tests := []struct{ name, ua string }{
		{"1 MiB of parentheses", strings.Repeat("(", 1<<20)},
		{"1 MiB of semicolons", "Mozilla/5.0 (" + strings.Repeat(";", 1<<20)},
		{"long padded browser", chrome + strings.Repeat(" x/1", 1<<16)},
		{"unterminated comment", "Mozilla/5.0 (Windows NT 10.0; Win64"},
		{"slashes only", strings.Repeat("/", 600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := device.Parse(tt.ua)
			if got.Type == "" || got.Name == "" || len(got.Name) > 100 {
				t.Errorf("Parse = %+v; want a type and a short name", got)
			}
		})
	}
	if got := device.Parse(chrome + strings.Repeat(" x/1", 1<<16)); got.Name != "Chrome 120 on Windows" {
		t.Errorf("Parse(long Chrome UA) = %+v; want Chrome 120 on Windows from the first 512 bytes", got)
	}
}

func BenchmarkParse(b *testing.B) {
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
	for b.Loop() {
		device.Parse(ua)
	}
}
