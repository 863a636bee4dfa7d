// Package clientip finds the IP address of the client behind an HTTP
// request, believing X-Forwarded-For only when it comes from a trusted
// proxy. Rate limits and the session list depend on it, so a client must not
// be able to choose its own address.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxHops is how many X-Forwarded-For entries are examined, from the right.
const maxHops = 32

// Resolver resolves client addresses. It is immutable and safe for
// concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver trusting the proxies in trustedCIDRs: a
// comma-separated list of CIDRs or single addresses, as in the
// TRUSTED_PROXIES setting ("10.0.0.0/8, 192.168.1.5, fd00::/8"). Empty means
// no proxy is trusted and the peer address is the client. An entry that does
// not parse is an error naming it.
func New(trustedCIDRs string) (*Resolver, error) {
	r := &Resolver{}
	for _, entry := range strings.Split(trustedCIDRs, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("clientip: trusted proxy %q is not a CIDR or IP address", entry)
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ClientIP returns the client's address: the peer of r, or, when the peer
// is a trusted proxy, the right-most X-Forwarded-For hop that is not itself
// trusted. Hops are examined from the right; an entry that is not an IP
// address stops the walk (whatever is left of it was written by the client),
// and the last trusted hop seen is returned, as it is after the 32nd hop.
// IPv4-mapped IPv6 addresses are shown as IPv4. When RemoteAddr is not an
// address it is returned as is.
func (r *Resolver) ClientIP(req *http.Request) string {
	peer, ok := parseHop(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr
	}
	client := peer
	if !r.isTrusted(peer) {
		return client.String()
	}
	hops := forwardedFor(req.Header.Values("X-Forwarded-For"))
	for _, h := range hops {
		a, ok := parseHop(h)
		if !ok {
			break
		}
		client = a
		if !r.isTrusted(a) {
			break
		}
	}
	return client.String()
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns up to maxHops X-Forwarded-For entries, right-most
// first, across every header line.
func forwardedFor(lines []string) []string {
	var hops []string
	for i := len(lines) - 1; i >= 0 && len(hops) < maxHops; i-- {
		line := lines[i]
		for len(hops) < maxHops {
			j := strings.LastIndexByte(line, ',')
			hops = append(hops, strings.TrimSpace(line[j+1:]))
			if j < 0 {
				break
			}
			line = line[:j]
		}
	}
	return hops
}

// parseHop parses an address with or without a port ("192.0.2.1",
// "192.0.2.1:80", "[2001:db8::1]:80", "2001:db8::1"), dropping zones and
// unmapping IPv4-in-IPv6.
func parseHop(s string) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(s)
		if splitErr != nil {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}
