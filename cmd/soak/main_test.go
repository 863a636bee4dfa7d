package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: nil},
		{args: []string{"-duration", "90s", "-json", "-window", "10s"}},
		{args: []string{"-duration", "10s"}, wantErr: "-duration"},
		{args: []string{"-window", "0s"}, wantErr: "-window"},
		{args: []string{"-workers", "0"}, wantErr: "-workers"},
		{args: []string{"-think", "-1s"}, wantErr: "-think"},
		{args: []string{"extra"}, wantErr: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseFlags(tt.args, &bytes.Buffer{})
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("parseFlags(%q) = %v; want an error mentioning %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// The six slots, warm-up and cool-down fill the duration exactly, and a
// fault is held for a quarter of its slot.
func TestSchedule(t *testing.T) {
	for _, d := range []time.Duration{90 * time.Second, 12 * time.Minute} {
		p := schedule(d)
		if got := 2*p.Warmup + 6*p.Slot; got > d || d-got > time.Microsecond {
			t.Errorf("schedule(%s): warm-up and slots take %s", d, got)
		}
		if p.Hold != p.Slot/4 {
			t.Errorf("schedule(%s): hold %s; want a quarter of %s", d, p.Hold, p.Slot)
		}
	}
	if got := schedule(12 * time.Minute); got.Slot != 100*time.Second || got.Hold != 25*time.Second {
		t.Errorf("12 minutes: slot %s, hold %s; want 100s, 25s", got.Slot, got.Hold)
	}
}

func TestTimeline(t *testing.T) {
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tl := &timeline{faults: []fault{
		{Kind: faultRedisPause, Start: at(10), Recovered: at(20)},
		{Kind: faultRedisRestart, Start: at(30), Recovered: at(40)},
	}}
	for _, tt := range []struct {
		from, to int
		want     int
	}{
		{0, 5, -1}, {5, 10, 0}, {12, 13, 0}, {20, 25, 0}, {21, 29, -1}, {25, 35, 1}, {41, 50, -1},
	} {
		if got := tl.overlapping(at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("overlapping(%d, %d) = %d; want %d", tt.from, tt.to, got, tt.want)
		}
	}
	for _, tt := range []struct{ t, want int }{{5, -1}, {10, 0}, {29, 0}, {30, 1}, {99, 1}} {
		if got := tl.period(at(tt.t)); got != tt.want {
			t.Errorf("period(%d) = %d; want %d", tt.t, got, tt.want)
		}
	}
	if calm, since := tl.settledSince(); !calm || !since.Equal(at(40)) {
		t.Errorf("settledSince = %v, %v; want true, the second fault's end", calm, since)
	}
	tl.begin(faultAuthKill, "auth-0")
	if calm, _ := tl.settledSince(); calm {
		t.Error("settledSince: calm while a fault is in progress")
	}
	if got := tl.overlapping(time.Now(), time.Now()); got != 2 {
		t.Errorf("overlapping(now) = %d during the third fault; want 2", got)
	}
}

// The leak check finds a token, a JWT's signature alone and a password
// in a log, and nothing in lines that only look alike.
func TestScanLogsFindsSecrets(t *testing.T) {
	const jwt = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSIsInNpZCI6InMxIiwianRpIjoiajEifQ.c2lnbmF0dXJlLW9mLWEtdG9rZW4tdGhhdC1pcy1sb25n"
	const password = "PASSWORDCHOSENBYTHESOAK42"
	set := newSecretSet()
	set.add(jwt, "refresh-token-0123456789abcdef", password)
	dir := t.TempDir()
	logs := map[string]string{
		"clean.log":   "level=INFO msg=login user_id=u1\nauthorization=\"Bearer eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.redacted\"\n",
		"auth.log":    "ok\nlevel=DEBUG header=\"Bearer " + jwt + "\"\nok\n",
		"svc.log":     "sig=c2lnbmF0dXJlLW9mLWEtdG9rZW4tdGhhdC1pcy1sb25n\n",
		"pw.log":      "a\nb\nbody={\"password\":\"" + password + "\"}\n",
		"ignored.txt": jwt,
	}
	for name, text := range logs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	leaks, _, files, err := scanLogs(dir, set)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, l := range leaks {
		got[l.File] = l.Line
	}
	want := map[string]int{"auth.log": 2, "svc.log": 1, "pw.log": 3}
	if files != 4 || len(got) != len(want) {
		t.Fatalf("scanned %d files, leaks %v; want 4 files, leaks %v", files, got, want)
	}
	for f, line := range want {
		if got[f] != line {
			t.Errorf("%s: leak at line %d; want %d", f, got[f], line)
		}
	}
}

// TestSoakShort is the CI version of the soak: 90 seconds against the
// real binaries, with all six faults on a compressed schedule. It asserts
// outcomes only (no revocation lost, no 5xx, no leak), never a time.
func TestSoakShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	err := run(ctx, []string{"-duration", "90s", "-json"}, &out, &log)
	t.Log(log.String())
	var res result
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		t.Fatalf("run: %v; report not JSON (%v):\n%s", err, jerr, out.String())
	}
	if err != nil {
		t.Errorf("run: %v; failures: %q", err, res.Failures)
	}
	if res.Lost != 0 || res.Unverified != 0 || res.Errors5xx != 0 || len(res.Leaks) != 0 {
		t.Errorf("lost %d, unverified %d, 5xx %d, leaks %v; want none", res.Lost, res.Unverified, res.Errors5xx, res.Leaks)
	}
	var injected []string
	for _, p := range res.Periods[1:] {
		if p.Down == "" {
			t.Errorf("%s did not recover", p.Name)
		}
		injected = append(injected, p.Name)
	}
	if strings.Join(injected, ",") != strings.Join(faultOrder, ",") {
		t.Errorf("faults injected: %q; want %q", injected, faultOrder)
	}
	for _, op := range []string{"logout", "revokeSession", "logoutAll"} {
		if res.Revocations[op] == 0 {
			t.Errorf("no %s was acknowledged: the soak did not exercise it", op)
		}
	}
	if res.LogFiles < 7 || res.Secrets == 0 {
		t.Errorf("leak check read %d log files for %d secrets; want every process's log, and the secrets", res.LogFiles, res.Secrets)
	}
	if t.Failed() {
		t.Logf("report:\n%s", out.String())
	}
}
