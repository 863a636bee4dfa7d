package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// "Revoke everything issued before T" (server revoke-before), for one user
// and then for everyone, is one revocation entry: the microservice refuses
// the tokens issued before T, cached or not, and so does a microservice
// started afterwards; the sessions begun before T cannot refresh; a login
// after T works everywhere.
func TestRevokeBeforeRefusesOlderTokens(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			serverBin, exampleBin := binaries(t)
			authEnv := m.auth(t)
			auth := start(t, serverBin, merge(authEnv, cheapArgon), "/healthz")
			svc := start(t, exampleBin, serviceEnv(authEnv, auth.URL), "/health")
			protected := svc.URL + "/api/protected"

			alice := registerAndLogin(t, auth.URL, "alice-before@example.com")
			bob := registerAndLogin(t, auth.URL, "bob-before@example.com")
			for _, a := range []account{alice, bob} {
				waitStatus(t, protected, a.Token, http.StatusOK, 10*time.Second) // now in the verified-token cache
			}

			for _, bad := range [][]string{{"revoke-before"}, {"revoke-before", "--time", "tomorrow"}, {"revoke-before", "--time", "now", "--user", "no-such-user"}} {
				if out, err := command(t, auth, bad...); err == nil {
					t.Fatalf("%q succeeded:\n%s", bad, out)
				}
			}
			if code, _ := get(t, protected, alice.Token); code != http.StatusOK {
				t.Fatalf("after refused commands alice's token answers %d; want 200", code)
			}

			// One user: alice's tokens go, bob's stay.
			out, err := command(t, auth, "revoke-before", "--time", "now", "--user", alice.UserID)
			if err != nil {
				t.Fatalf("revoke-before --user: %v\n%s", err, out)
			}
			took := waitStatus(t, protected, alice.Token, http.StatusUnauthorized, 10*time.Second)
			t.Logf("one user's cut-off reached the microservice %s after the command returned", took)
			if code, _ := get(t, protected, bob.Token); code != http.StatusOK {
				t.Errorf("bob's token answers %d after alice's cut-off; want 200", code)
			}

			// Everyone.
			out, err = command(t, auth, "revoke-before", "--time", "now")
			cut := time.Now()
			if err != nil || !strings.Contains(out, "every user") {
				t.Fatalf("revoke-before: %v\n%s", err, out)
			}
			took = waitStatus(t, protected, bob.Token, http.StatusUnauthorized, 10*time.Second)
			t.Logf("the global cut-off reached the microservice %s after the command returned", took)
			if r := gql(t, auth.URL, fmt.Sprintf(`mutation { refreshToken(token: %q) { token } }`, bob.Refresh), ""); r.code() != "UNAUTHENTICATED" {
				t.Errorf("refresh of a session begun before the cut-off: code %q; want UNAUTHENTICATED", r.code())
			}

			// Tokens carry whole seconds: the cut-off is the second after
			// the command; a login once it has passed works.
			testenv.WaitFor(t, "the cut-off's second to pass", func() bool { return time.Now().Unix() > cut.Unix() })
			fresh := login(t, auth.URL, alice)
			waitStatus(t, protected, fresh.Token, http.StatusOK, 10*time.Second)

			// A microservice started afterwards learns the cut-offs from
			// the snapshot.
			late := start(t, exampleBin, serviceEnv(authEnv, auth.URL), "/health")
			for name, tc := range map[string]struct {
				token string
				want  int
			}{"alice before": {alice.Token, http.StatusUnauthorized}, "bob before": {bob.Token, http.StatusUnauthorized}, "alice after": {fresh.Token, http.StatusOK}} {
				if code, _ := get(t, late.URL+"/api/protected", tc.token); code != tc.want {
					t.Errorf("microservice started afterwards, %s the cut-off: %d; want %d", name, code, tc.want)
				}
			}
		})
	}
}
