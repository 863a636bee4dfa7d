package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/authclient"
)

// mix is the share of each operation; validated requests take the rest.
type mix struct {
	Refresh, Login float64
}

// The operations measured.
const (
	opValidate = "validate"
	opRefresh  = "refresh"
	opLogin    = "login"
	opLogout   = "logout"
)

// driver is one load run.
type driver struct {
	Auth, Service string
	Workers       int
	Users         int
	Mix           mix
	Duration      time.Duration
}

// user is an account a worker owns, with its current tokens.
type user struct {
	email, password string
	access, refresh string
}

// sample is one measured request.
type sample struct {
	op  string
	at  time.Duration // since the start of the run
	dur time.Duration
}

// recorder collects samples; each worker has its own, merged at the end.
type recorder struct {
	samples     []sample
	propagation []time.Duration
	errs        map[string]int
	firstErr    string
}

func (r *recorder) fail(op string, err error) {
	if r.errs == nil {
		r.errs = map[string]int{}
	}
	r.errs[op]++
	if r.firstErr == "" {
		r.firstErr = op + ": " + err.Error()
	}
}

// drive registers and logs in the users, then runs the mix for Duration.
func drive(ctx context.Context, d driver) (*results, error) {
	client := authclient.New(&http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4 * d.Workers, MaxConnsPerHost: 0},
	}, "")
	run := time.Now().UnixNano()
	owned := make([][]*user, d.Workers)
	for w := range owned {
		for i := range d.Users {
			u := &user{email: fmt.Sprintf("load-%x-%d-%d@example.com", run, w, i), password: "Load-test-1234!"}
			if err := register(ctx, client, d.Auth, u); err != nil {
				return nil, fmt.Errorf("setting up users: %w", err)
			}
			owned[w] = append(owned[w], u)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.Duration)
	defer cancel()
	start := time.Now()
	recs := make([]*recorder, d.Workers)
	var wg sync.WaitGroup
	for w := range d.Workers {
		recs[w] = &recorder{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx, client, start, owned[w], recs[w])
		}()
	}
	wg.Wait()
	return merge(recs, time.Since(start)), nil
}

// work runs operations on the worker's users until ctx ends.
func (d driver) work(ctx context.Context, client *authclient.Client, start time.Time, users []*user, rec *recorder) {
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(len(rec.samples)+len(users))))
	for ctx.Err() == nil {
		u := users[rng.IntN(len(users))]
		p := rng.Float64()
		began := time.Now()
		var op string
		var err error
		switch {
		case p < d.Mix.Login:
			op = opLogin
			old := u.access
			if err = login(ctx, client, d.Auth, u); err == nil {
				rec.samples = append(rec.samples, sample{op, began.Sub(start), time.Since(began)})
				// The replaced session ends: logout with its token, then
				// time until the microservice refuses that token.
				op, began = opLogout, time.Now()
				err = logout(ctx, client, d.Auth, old)
				if err == nil {
					rec.samples = append(rec.samples, sample{op, began.Sub(start), time.Since(began)})
					var took time.Duration
					if took, err = d.refusedAfter(ctx, client, old); err == nil {
						rec.propagation = append(rec.propagation, took)
					}
					op = "propagation"
				}
			}
		case p < d.Mix.Login+d.Mix.Refresh:
			op = opRefresh
			err = refresh(ctx, client, d.Auth, u)
		default:
			op = opValidate
			err = validate(ctx, client, d.Service, u.access)
		}
		if ctx.Err() != nil {
			return // a request cut by the end of the run is not an error
		}
		if err != nil {
			rec.fail(op, err)
			continue
		}
		if op == opRefresh || op == opValidate {
			rec.samples = append(rec.samples, sample{op, began.Sub(start), time.Since(began)})
		}
	}
}

// refusedAfter polls the microservice with a logged-out token until it
// answers 401 and returns how long that took.
func (d driver) refusedAfter(ctx context.Context, client *authclient.Client, token string) (time.Duration, error) {
	began := time.Now()
	for {
		code, err := client.Protected(ctx, d.Service, token)
		if err != nil {
			return 0, err
		}
		if code == http.StatusUnauthorized {
			return time.Since(began), nil
		}
		if time.Since(began) > 10*time.Second {
			return 0, fmt.Errorf("a logged-out token still accepted after %s", time.Since(began).Round(time.Millisecond))
		}
		time.Sleep(time.Millisecond)
	}
}

func validate(ctx context.Context, client *authclient.Client, service, token string) error {
	code, err := client.Protected(ctx, service, token)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /api/protected: status %d", code)
	}
	return err
}

func register(ctx context.Context, client *authclient.Client, auth string, u *user) error {
	if err := graphQL(ctx, client, auth, "", `mutation($e: String!, $p: String!) { register(input: {email: $e, password: $p}) { message } }`,
		map[string]any{"e": u.email, "p": u.password}, nil); err != nil {
		return err
	}
	return login(ctx, client, auth, u)
}

func login(ctx context.Context, client *authclient.Client, auth string, u *user) error {
	var out struct {
		Login struct{ Token, RefreshToken string }
	}
	if err := graphQL(ctx, client, auth, "", `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token refreshToken } }`,
		map[string]any{"e": u.email, "p": u.password}, &out); err != nil {
		return err
	}
	u.access, u.refresh = out.Login.Token, out.Login.RefreshToken
	return nil
}

func refresh(ctx context.Context, client *authclient.Client, auth string, u *user) error {
	var out struct {
		RefreshToken struct{ Token, RefreshToken string }
	}
	if err := graphQL(ctx, client, auth, "", `mutation($t: String!) { refreshToken(token: $t) { token refreshToken } }`,
		map[string]any{"t": u.refresh}, &out); err != nil {
		return err
	}
	u.access, u.refresh = out.RefreshToken.Token, out.RefreshToken.RefreshToken
	return nil
}

func logout(ctx context.Context, client *authclient.Client, auth, token string) error {
	return graphQL(ctx, client, auth, token, `mutation { logout }`, nil, nil)
}

// graphQL posts one operation and decodes its data into out (if not nil);
// a GraphQL error is an error.
func graphQL(ctx context.Context, client *authclient.Client, auth, bearer, query string, vars map[string]any, out any) error {
	a, err := client.Do(ctx, auth, authclient.Request{Query: query, Variables: vars, Bearer: bearer})
	if errors.Is(err, authclient.ErrUndecodable) {
		return fmt.Errorf("POST /graphql: status %d: %w", a.Status, err)
	}
	if err != nil {
		return err
	}
	if len(a.Errors) > 0 {
		return fmt.Errorf("POST /graphql: %s", a.Errors[0].Message)
	}
	if out != nil {
		return json.Unmarshal(a.Data, out)
	}
	return nil
}
