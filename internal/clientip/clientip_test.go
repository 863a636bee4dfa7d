package clientip_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/clientip"
)

func TestNew(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" means no error
	}{
		{"", ""},
		{" , ,", ""},
		{"10.0.0.0/8", ""},
		{"10.0.0.0/8, 192.168.1.5 ,fd00::/8,::1", ""},
		{"::ffff:10.0.0.0/104", ""},
		{"10.0.0.0/33", `"10.0.0.0/33"`},
		{"10.0.0.0/8,proxy.internal", `"proxy.internal"`},
		{"10.0.0.0/8;172.16.0.0/12", `"10.0.0.0/8;172.16.0.0/12"`},
		{"fd00::/129", `"fd00::/129"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := clientip.New(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New(%q): got error %v; want none", tt.in, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New(%q): got error %v; want one naming %s", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	const trusted = "10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.10"
	tests := []struct {
		name   string
		cidrs  string
		remote string
		xff    []string
		want   string
	}{
		{"no proxies trusted, XFF ignored", "", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"untrusted peer spoofing XFF", trusted, "203.0.113.7:5555", []string{"10.1.1.1"}, "203.0.113.7"},
		{"trusted peer, one hop", trusted, "10.0.0.2:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted single-address proxy", trusted, "192.0.2.10:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"neighbour of a single-address proxy", trusted, "192.0.2.11:443", []string{"198.51.100.1"}, "192.0.2.11"},
		{"client prepends a fake hop", trusted, "10.0.0.2:443", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", trusted, "10.0.0.2:443", []string{"198.51.100.1, 10.3.3.3, 10.2.2.2"}, "198.51.100.1"},
		{"client fakes a trusted hop", trusted, "10.0.0.2:443", []string{"10.9.9.9, 198.51.100.1"}, "198.51.100.1"},
		{"several header lines", trusted, "10.0.0.2:443", []string{"1.2.3.4", "198.51.100.1, 10.2.2.2"}, "198.51.100.1"},
		{"trusted peer, no XFF", trusted, "10.0.0.2:443", nil, "10.0.0.2"},
		{"only trusted hops", trusted, "10.0.0.2:443", []string{"10.5.5.5, 10.4.4.4"}, "10.5.5.5"},
		{"garbage right-most hop", trusted, "10.0.0.2:443", []string{"198.51.100.1, not-an-ip"}, "10.0.0.2"},
		{"garbage left of the client", trusted, "10.0.0.2:443", []string{"<script>, 198.51.100.1"}, "198.51.100.1"},
		{"garbage between trusted hops", trusted, "10.0.0.2:443", []string{"198.51.100.1, x, 10.2.2.2"}, "10.2.2.2"},
		{"empty entries", trusted, "10.0.0.2:443", []string{" , "}, "10.0.0.2"},
		{"empty header", trusted, "10.0.0.2:443", []string{""}, "10.0.0.2"},
		{"hop with port", trusted, "10.0.0.2:443", []string{"198.51.100.1:1234"}, "198.51.100.1"},
		{"IPv6 client", trusted, "10.0.0.2:443", []string{"2001:db8:1::5"}, "2001:db8:1::5"},
		{"bracketed IPv6 hop with port", trusted, "10.0.0.2:443", []string{"[2001:db8:1::5]:8080"}, "2001:db8:1::5"},
		{"IPv6 proxy", trusted, "[2001:db8:ffff::1]:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv6 untrusted peer", trusted, "[2001:db8:1::1]:443", []string{"198.51.100.1"}, "2001:db8:1::1"},
		{"IPv6 peer with zone", "", "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"IPv4-mapped peer", trusted, "[::ffff:10.0.0.2]:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped hop", trusted, "10.0.0.2:443", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"huge header", trusted, "10.0.0.2:443", []string{strings.Repeat("1.1.1.1, ", 10000) + "198.51.100.1"}, "198.51.100.1"},
		{"many trusted hops", trusted, "10.0.0.2:443", []string{"198.51.100.1, " + strings.Repeat("10.1.1.1, ", 100) + "10.1.1.1"}, "10.1.1.1"},
		{"remote without port", "", "203.0.113.7", nil, "203.0.113.7"},
		{"remote not an address", trusted, "pipe", []string{"198.51.100.1"}, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := clientip.New(tt.cidrs)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.ClientIP(req); got != tt.want {
				t.Errorf("ClientIP = %q; want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkClientIP(b *testing.B) {
	r, err := clientip.New("10.0.0.0/8, 2001:db8:ffff::/48")
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.2:443"
	req.Header.Set("X-Forwarded-For", "1.2.3.4, 198.51.100.1, 10.2.2.2")
	for b.Loop() {
		r.ClientIP(req)
	}
}
