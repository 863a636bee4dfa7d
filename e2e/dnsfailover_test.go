package e2e_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
)

// replicasName is the DNS name the test's resolver answers with one
// address per replica.
const replicasName = "auth.soak.test."

// dnsServer answers A queries for replicasName with addrs, and anything
// else with no record, over UDP on loopback.
func dnsServer(t *testing.T, addrs ...[4]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if q.Type == dnsmessage.TypeA && q.Name.String() == replicasName {
				for _, a := range addrs {
					_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}, dnsmessage.AResource{A: a})
				}
			}
			msg, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// resolvingClient is the validator's default HTTP client but for its
// resolver, which asks the DNS server at addr. (net.DefaultResolver is a
// process global every dial reads, the test's own included: replacing it
// for one test would race with them.)
func resolvingClient(t *testing.T, addr string) *http.Client {
	t.Helper()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: r}).DialContext
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// address is a replica's own address (ip:port): it forwards every
// connection to the replica's real port, and Close makes the address
// refuse connections, as a crashed replica's address does.
type address struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func forward(t *testing.T, ln net.Listener, to string) *address {
	t.Helper()
	a := &address{ln: ln}
	t.Cleanup(a.Close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			a.mu.Lock()
			a.conns = append(a.conns, c, up)
			a.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return a
}

// Close stops listening and cuts every connection.
func (a *address) Close() {
	a.ln.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns {
		c.Close()
	}
	a.conns = nil
}

// listenSamePort listens on 127.0.0.2 and 127.0.0.3 on one port, as two
// replicas behind one name listen on one port at two addresses.
func listenSamePort(t *testing.T) (port int, lns [2]net.Listener) {
	t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		a, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatalf("listen on 127.0.0.2 (loopback): %v", err)
		}
		port = a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", "127.0.0.3:"+strconv.Itoa(port))
		if err == nil {
			return port, [2]net.Listener{a, b}
		}
		a.Close()
	}
	t.Fatal("no port free on both 127.0.0.2 and 127.0.0.3")
	return 0, lns
}

// TestValidatorFailsOverBetweenAddressesOfOneName: a validator given one
// AUTH_URL whose name resolves to two replicas (a headless Service, a DNS
// round robin) follows one; once that replica's address refuses
// connections, a logout made through the other still reaches the
// validator, and tokens keep verifying. The validator runs in-process,
// its HTTP client the default one but for a resolver asking the test's DNS
// server: each connection is dialled by net.Dialer, which tries the
// name's addresses in turn, as the default client's does.
func TestValidatorFailsOverBetweenAddressesOfOneName(t *testing.T) {
	serverBin, _ := binaries(t)
	env := merge(cheapArgon, map[string]string{"DATABASE_URL": testenv.StartPostgres(t).URL})
	reps := [2]*service{start(t, serverBin, env, "/readyz"), start(t, serverBin, env, "/readyz")}
	port, lns := listenSamePort(t)
	addrs := [2]*address{forward(t, lns[0], reps[0].Addr()), forward(t, lns[1], reps[1].Addr())}
	dns := dnsServer(t, [4]byte{127, 0, 0, 2}, [4]byte{127, 0, 0, 3})

	v, err := session.NewSessionValidator(session.Config{
		AuthURL: "http://auth.soak.test:" + strconv.Itoa(port), AllowInsecureAuthURL: true,
		HTTPClient: resolvingClient(t, dns),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	followed := -1
	testenv.WaitFor(t, "the validator following one replica's feed", func() bool {
		for i, r := range reps {
			if feedClients(t, r) == "1" {
				followed = i
			}
		}
		return followed >= 0
	})
	other := reps[1-followed]
	a := registerAndLogin(t, other.URL, "dns-failover@example.com")
	testenv.WaitFor(t, "the validator accepting a fresh token", func() bool {
		_, err := v.ValidateAccessToken(a.Token)
		return err == nil
	})

	addrs[followed].Close() // the replica's address goes away
	reps[followed].process.Kill()
	reps[followed].process = nil
	gql(t, other.URL, `mutation { logout }`, a.Token)
	testenv.WaitFor(t, "the logout through the surviving replica reaching the validator", func() bool {
		_, err := v.ValidateAccessToken(a.Token)
		return errors.Is(err, session.ErrRevoked)
	})
	testenv.WaitFor(t, "the validator following the surviving replica", func() bool { return feedClients(t, other) == "1" })
	b := login(t, other.URL, a)
	testenv.WaitFor(t, "a token of the surviving replica verifying", func() bool {
		_, err := v.ValidateAccessToken(b.Token)
		return err == nil
	})
}
