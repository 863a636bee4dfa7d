package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/testenv"
)

// TestNoSecretsAtRest runs every account operation against two
// configurations and then looks for raw passwords and tokens everywhere the
// system writes: both processes' logs, every Redis key and value, and the
// database (SQLite files byte for byte, PostgreSQL table by table).
func TestNoSecretsAtRest(t *testing.T) {
	serverBin, exampleBin := binaries(t)

	t.Run("postgres+redis+HS256", func(t *testing.T) {
		rs := testenv.StartRedis(t)
		dbURL := testenv.Postgres(t)
		env := map[string]string{"JWT_SECRET": hostileSecret, "REDIS_ADDR": rs.Addr}
		auth := start(t, serverBin, merge(env, cheapArgon, map[string]string{"DATABASE_URL": dbURL}), "/healthz")
		svc := start(t, exampleBin, env, "/health")
		s := accountLifecycle(t, auth, svc, "pg-secrets@example.com")

		assertNoSecretIn(t, "auth service logs", auth.Logs(), s)
		assertNoSecretIn(t, "microservice logs", svc.Logs(), s)
		assertNoSecretIn(t, "Redis", dumpRedis(t, rs.Client(t)), s)
		dump := dumpPostgres(t, dbURL)
		assertNoSecretIn(t, "PostgreSQL", dump, s)
		if !strings.Contains(dump, "pg-secrets@example.com") || !strings.Contains(dump, "$argon2id$v=19$") {
			t.Fatal("the dump misses the user or its argon2id PHC hash: the scan did not read the tables")
		}
	})

	t.Run("embedded SQLite+EdDSA+feed", func(t *testing.T) {
		dataDir := t.TempDir()
		auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": dataDir}), "/healthz")
		svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/health")
		s := accountLifecycle(t, auth, svc, "sqlite-secrets@example.com")

		assertNoSecretIn(t, "auth service logs", auth.Logs(), s)
		assertNoSecretIn(t, "microservice logs", svc.Logs(), s)
		svc.Stop()  // ends its feed stream, which holds up the auth service's shutdown
		auth.Stop() // checkpoint the WAL too; every file is read anyway
		files, err := filepath.Glob(filepath.Join(dataDir, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no database files in %s (%v)", dataDir, err)
		}
		var all bytes.Buffer
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecretIn(t, "SQLite file "+filepath.Base(f), string(b), s)
			all.Write(b)
		}
		if !bytes.Contains(all.Bytes(), []byte("$argon2id$v=19$")) {
			t.Fatal("the SQLite database holds no argon2id PHC string")
		}
	})
}

// secrets are what must never be stored, published or logged.
type secrets struct {
	passwords []string
	tokens    []string
}

// accountLifecycle registers, logs in twice, fails logins, refreshes twice,
// replays a retired refresh token, logs out, logs out everywhere, changes
// the password, and uses every access token at the microservice. It returns
// every password and token that went over the wire.
func accountLifecycle(t *testing.T, auth, svc *service, email string) secrets {
	t.Helper()
	const oldPw, newPw = "Old-Passw0rd-Secret!", "New-Passw0rd-Secret?"
	s := secrets{passwords: []string{oldPw, newPw}}
	keep := func(a account) account {
		s.tokens = append(s.tokens, a.Token, a.Refresh)
		return a
	}
	base := account{Email: email, Password: oldPw}
	var reg struct{ Message string }
	gql(t, auth.URL, fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message } }`, email, oldPw), "").field(t, "register", &reg)
	s1 := keep(login(t, auth.URL, base))
	s2 := keep(login(t, auth.URL, base))
	// Device tokens: one issued, then presented and re-issued. (Kept as a
	// pair: the microservice must refuse both as access and refresh tokens.)
	var d1, d2 struct{ DeviceToken string }
	gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { deviceToken } }`, email, oldPw), "").field(t, "login", &d1)
	gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q, deviceToken: %q}) { deviceToken } }`, email, oldPw, d1.DeviceToken), "").field(t, "login", &d2)
	s.tokens = append(s.tokens, d1.DeviceToken, d2.DeviceToken)

	for _, wrong := range []string{"Wrong-Guess-0ne!", "Old-Passw0rd-Secret", "old-passw0rd-secret!"} {
		s.passwords = append(s.passwords, wrong)
		r := gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, email, wrong), "")
		if r.code() != "INVALID_CREDENTIALS" {
			t.Fatalf("wrong password: got code %q; want INVALID_CREDENTIALS", r.code())
		}
	}
	s.passwords = append(s.passwords, "Nobody-Has-This-0ne")
	gql(t, auth.URL, `mutation { login(input: {email: "nobody@example.com", password: "Nobody-Has-This-0ne"}) { token } }`, "")

	r1 := keep(refresh(t, auth.URL, s1))
	r2 := keep(refresh(t, auth.URL, r1))
	if r := gql(t, auth.URL, fmt.Sprintf(`mutation { refreshToken(token: %q) { token } }`, s1.Refresh), ""); r.code() != "REFRESH_TOKEN_REUSED" {
		t.Fatalf("replayed refresh token: got code %q; want REFRESH_TOKEN_REUSED", r.code())
	}
	waitStatus(t, svc.URL+"/api/protected", r2.Token, 401, 5*time.Second)

	var ok bool
	gql(t, auth.URL, `mutation { logout }`, s2.Token).field(t, "logout", &ok)
	s3 := keep(login(t, auth.URL, base))
	keep(login(t, auth.URL, base))
	gql(t, auth.URL, `mutation { logoutAll }`, s3.Token).field(t, "logoutAll", &ok)

	s5 := keep(login(t, auth.URL, base))
	s.passwords = append(s.passwords, "Not-The-0ld-One!", "Sh0rt!x")
	if r := gql(t, auth.URL, fmt.Sprintf(`mutation { changePassword(input: {oldPassword: "Not-The-0ld-One!", newPassword: %q}) }`, newPw), s5.Token); r.code() == "" {
		t.Fatal("changePassword with a wrong old password succeeded")
	}
	if r := gql(t, auth.URL, fmt.Sprintf(`mutation { changePassword(input: {oldPassword: %q, newPassword: "Sh0rt!x"}) }`, oldPw), s5.Token); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("changePassword to a short password: got code %q; want BAD_USER_INPUT", r.code())
	}
	gql(t, auth.URL, fmt.Sprintf(`mutation { changePassword(input: {oldPassword: %q, newPassword: %q}) }`, oldPw, newPw), s5.Token).field(t, "changePassword", &ok)
	base.Password = newPw
	s6 := keep(login(t, auth.URL, base))

	for i := 0; i < len(s.tokens); i += 2 {
		get(t, svc.URL+"/api/protected", s.tokens[i])
		get(t, svc.URL+"/api/profile", s.tokens[i+1]) // a refresh token where an access token belongs
	}
	if code, _ := get(t, svc.URL+"/api/protected", s6.Token); code != 200 {
		t.Fatalf("token after the password change: got %d; want 200", code)
	}
	return s
}

// refresh exchanges a's refresh token for a new pair.
func refresh(t *testing.T, base string, a account) account {
	t.Helper()
	var p struct{ Token, RefreshToken string }
	gql(t, base, fmt.Sprintf(`mutation { refreshToken(token: %q) { token refreshToken } }`, a.Refresh), "").field(t, "refreshToken", &p)
	a.Token, a.Refresh = p.Token, p.RefreshToken
	return a
}

// assertNoSecretIn fails if text holds a password, a token or a token's
// signature.
func assertNoSecretIn(t *testing.T, where, text string, s secrets) {
	t.Helper()
	for _, pw := range s.passwords {
		if strings.Contains(text, pw) {
			t.Errorf("%s holds the password %q", where, pw)
		}
	}
	for _, tok := range s.tokens {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(text, tok) {
			t.Errorf("%s holds a raw token %.20s…", where, tok)
		} else if len(sig) >= 32 && strings.Contains(text, sig) {
			t.Errorf("%s holds a token's signature %.20s…", where, sig)
		}
	}
}

// dumpRedis renders every key and value of rdb as text.
func dumpRedis(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("Redis holds no keys: the flow did not reach it")
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\n")
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			b.WriteString(rdb.Get(ctx, k).Val())
		case "hash":
			fmt.Fprint(&b, rdb.HGetAll(ctx, k).Val())
		case "zset":
			fmt.Fprint(&b, rdb.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&b, rdb.SMembers(ctx, k).Val())
		case "list":
			fmt.Fprint(&b, rdb.LRange(ctx, k, 0, -1).Val())
		case "stream":
			fmt.Fprint(&b, rdb.XRange(ctx, k, "-", "+").Val())
		default:
			t.Fatalf("Redis key %q has type %q the scan does not read", k, typ)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// dumpPostgres renders every row of every table of the schema as text.
func dumpPostgres(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 3 {
		t.Fatalf("tables of the schema: got %v (%v)", tables, err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT * FROM "+pgx.Identifier{table}.Sanitize())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(table + ":")
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					b.Write(raw) // bytea as the bytes themselves
				} else {
					fmt.Fprint(&b, v)
				}
				b.WriteString("|")
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
