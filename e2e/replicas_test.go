package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// TestReplicasBehaveAsOne runs two auth-service replicas on one PostgreSQL
// schema and one Redis with asymmetric keys (no JWT_SECRET), and uses them
// alternately as a load balancer without sticky sessions would.
// Microservice B validates with replica B's JWKS and Redis; microservice A
// with replica A's JWKS and A's revocation feed.
func TestReplicasBehaveAsOne(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	env := merge(cheapArgon, map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_ADDR": rs.Addr})
	repA := start(t, serverBin, env, "/healthz")
	repB := start(t, serverBin, env, "/healthz")
	svcA := start(t, exampleBin, map[string]string{"AUTH_URL": repA.URL}, "/health")
	svcB := start(t, exampleBin, map[string]string{"AUTH_URL": repB.URL, "REDIS_ADDR": rs.Addr}, "/health")
	svcs := []*service{svcA, svcB}

	// Register on A, log in on B and on A: each token works at both
	// microservices, whichever replica's keys they fetched.
	a := registerAndLogin(t, repA.URL, "replicas@example.com")
	b := login(t, repB.URL, a)
	for _, tok := range []account{a, b} {
		for _, s := range svcs {
			if code, body := get(t, s.URL+"/api/protected", tok.Token); code != 200 {
				t.Fatalf("token of kid %s at %s: got %d %q; want 200", kidOf(t, tok.Token), s.URL, code, body)
			}
		}
	}
	assertPublished(t, []*service{repA, repB}, a.Token, b.Token)

	// Refresh B's session on A, then on B.
	r1 := refresh(t, repA.URL, b)
	r2 := refresh(t, repB.URL, r1)
	for _, s := range svcs {
		if code, _ := get(t, s.URL+"/api/protected", r2.Token); code != 200 {
			t.Fatalf("token refreshed on A then B, at %s: got %d; want 200", s.URL, code)
		}
	}

	// A lists the session B created.
	var sess []struct {
		ID      string
		Current bool
	}
	gql(t, repA.URL, `query { sessions { id current } }`, a.Token).field(t, "sessions", &sess)
	if !slices.ContainsFunc(sess, func(s struct {
		ID      string
		Current bool
	}) bool {
		return s.ID == b.Session && !s.Current
	}) {
		t.Fatalf("sessions on A: got %+v; want B's session %s listed", sess, b.Session)
	}

	// Logout on B: rejected by both microservices and by replica A.
	var ok bool
	gql(t, repB.URL, `mutation { logout }`, r2.Token).field(t, "logout", &ok)
	for _, s := range svcs {
		waitStatus(t, s.URL+"/api/protected", r2.Token, 401, 5*time.Second)
	}
	if r := gql(t, repA.URL, `query { me { id } }`, r2.Token); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("me on A after logout on B: got code %q; want UNAUTHENTICATED", r.code())
	}
	if r := gql(t, repA.URL, fmt.Sprintf(`mutation { refreshToken(token: %q) { token } }`, r2.Refresh), ""); r.code() == "" {
		t.Fatal("refresh on A after logout on B succeeded")
	}

	concurrentRefreshes(t, repA, repB, login(t, repA.URL, a), svcs)
}

// concurrentRefreshes sends 10 refreshes of one token, split across both
// replicas, at once: none fails with a 5xx, and they all continue one chain
// (refresh tokens are deterministic per generation), which goes on.
func concurrentRefreshes(t *testing.T, repA, repB *service, c account, svcs []*service) {
	t.Helper()
	const n = 10
	type result struct {
		status int
		res    gqlResult
		err    error
	}
	results := make([]result, n)
	startGun := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		base := repA.URL
		if i%2 == 1 {
			base = repB.URL
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			q := fmt.Sprintf(`mutation { refreshToken(token: %q) { token refreshToken } }`, c.Refresh)
			results[i].status, results[i].res, results[i].err = postGraphQL(base, q, "", nil)
		}()
	}
	close(startGun)
	wg.Wait()

	chains := map[string]bool{}
	var next account
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Fatalf("refresh #%d: %v", i, r.err)
		case r.status >= 500:
			t.Fatalf("refresh #%d: status %d", i, r.status)
		case len(r.res.Errors) > 0:
			t.Errorf("refresh #%d: %s (%s); want every concurrent refresh to succeed within the grace window", i, r.res.Errors[0].Message, r.res.code())
			continue
		}
		var p struct{ Token, RefreshToken string }
		if err := json.Unmarshal(r.res.Data["refreshToken"], &p); err != nil {
			t.Fatalf("refresh #%d: %v", i, err)
		}
		chains[p.RefreshToken] = true
		next = account{Token: p.Token, Refresh: p.RefreshToken}
	}
	if len(chains) != 1 {
		t.Fatalf("concurrent refreshes returned %d different refresh tokens; want exactly one chain", len(chains))
	}
	for _, s := range svcs {
		if code, _ := get(t, s.URL+"/api/protected", next.Token); code != 200 {
			t.Fatalf("access token of a concurrent refresh at %s: got %d; want 200", s.URL, code)
		}
	}
	last := refresh(t, repB.URL, next) // the one chain continues
	if code, _ := get(t, svcs[0].URL+"/api/protected", last.Token); code != 200 {
		t.Fatalf("the chain's next token: got %d; want 200", code)
	}
}

// TestReplicasColdStartTogether starts three replicas at the same moment on
// a fresh PostgreSQL schema, as a deployment does: each may create a first
// signing key, and they must still agree, so that a token from any replica
// validates at a microservice that fetches the keys of any other.
func TestReplicasColdStartTogether(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	env := merge(cheapArgon, map[string]string{"DATABASE_URL": testenv.Postgres(t)})
	reps := startTogether(t, serverBin, []map[string]string{env, env, env}, "/healthz")
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": reps[0].URL}, "/health")

	a := registerAndLogin(t, reps[0].URL, "cold@example.com")
	var tokens []string
	for i, rep := range reps {
		tok := login(t, rep.URL, a).Token
		tokens = append(tokens, tok)
		if code, _ := get(t, svc.URL+"/api/protected", tok); code != 200 {
			t.Errorf("token of replica %d (kid %s) at a microservice using replica 0's JWKS: got %d; want 200", i, kidOf(t, tok), code)
		}
		if r := gql(t, reps[(i+1)%len(reps)].URL, `query { me { id } }`, tok); len(r.Errors) > 0 {
			t.Errorf("token of replica %d (kid %s) at replica %d: %s (%s); want accepted", i, kidOf(t, tok), (i+1)%len(reps), r.Errors[0].Message, r.code())
		}
	}
	assertPublished(t, reps, tokens...)
}

// assertPublished checks that every replica publishes every key the tokens
// are signed with.
func assertPublished(t *testing.T, reps []*service, tokens ...string) {
	t.Helper()
	for _, rep := range reps {
		code, body := get(t, rep.URL+"/.well-known/jwks.json", "")
		var set struct {
			Keys []struct{ Kid string } `json:"keys"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &set) != nil || len(set.Keys) == 0 {
			t.Fatalf("JWKS of %s: got %d %q", rep.URL, code, body)
		}
		for _, tok := range tokens {
			kid := kidOf(t, tok)
			if !slices.ContainsFunc(set.Keys, func(k struct{ Kid string }) bool { return k.Kid == kid }) {
				t.Errorf("JWKS of %s lacks kid %s that a replica signs with: %s", rep.URL, kid, body)
			}
		}
	}
}

// kidOf returns the kid of a token's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(tok[:max(strings.IndexByte(tok, '.'), 0)])
	var hdr struct{ Kid string }
	if err != nil || json.Unmarshal(h, &hdr) != nil {
		t.Fatalf("token header is not base64url JSON: %.40s", tok)
	}
	return hdr.Kid
}

// startTogether launches one process per env at the same moment, as
// replicas starting together would, and waits until each answers
// healthPath, within 20 s in all.
func startTogether(t *testing.T, bin string, envs []map[string]string, healthPath string) []*service {
	t.Helper()
	ps := make([]*service, len(envs))
	for i, env := range envs {
		ps[i] = launch(t, bin, env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, p := range ps {
		p.waitHealthy(ctx, healthPath)
	}
	return ps
}
