package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		modes   string
	}{
		{args: nil, modes: "redis,feed"},
		{args: []string{"-mode", "redis", "-services", "3", "-n", "200"}, modes: "redis"},
		{args: []string{"-mode", "feed"}, modes: "feed"},
		{args: []string{"-mode", "burst", "-services", "10", "-n", "100000"}, modes: "burst"},
		{args: []string{"-mode", "burst", "-transport", "feed", "-batch", "1"}, modes: "burst"},
		{args: []string{"-mode", "sustained", "-rate", "5000", "-duration", "60s", "-services", "3"}, modes: "sustained"},
		{args: []string{"-mode", "burst", "-transport", "kafka"}, wantErr: "-transport"},
		{args: []string{"-mode", "burst", "-batch", "0"}, wantErr: "-batch"},
		{args: []string{"-mode", "burst", "-batch", "1001"}, wantErr: "-batch"},
		{args: []string{"-mode", "sustained", "-rate", "0"}, wantErr: "-rate"},
		{args: []string{"-mode", "sustained", "-duration", "11m"}, wantErr: "-duration"},
		{args: []string{"-mode", "kafka"}, wantErr: "-mode"},
		{args: []string{"-services", "0"}, wantErr: "-services"},
		{args: []string{"-n", "-1"}, wantErr: "-n"},
		{args: []string{"-catchup", "5000"}, wantErr: "-catchup"},
		{args: []string{"-lost", "0s"}, wantErr: "-lost"},
		{args: []string{"-poll", "2s"}, wantErr: "-poll"},
		{args: []string{"-bogus"}, wantErr: "bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v; want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want none", err)
			}
			if got := strings.Join(o.Modes, ","); got != tt.modes {
				t.Fatalf("got modes %q; want %q", got, tt.modes)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var s samples
	for i := 1; i <= 100; i++ {
		s.add(observation{Took: time.Duration(i) * time.Millisecond})
	}
	s.add(observation{Lost: true})
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0.50, 50 * time.Millisecond},
		{0.90, 90 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := s.percentile(tt.p); got != tt.want {
			t.Errorf("percentile(%v): got %s; want %s", tt.p, got, tt.want)
		}
	}
	if s.count() != 100 || s.lost != 1 {
		t.Errorf("got count %d, lost %d; want 100, 1", s.count(), s.lost)
	}
	if got := (&samples{}).percentile(0.5); got != 0 {
		t.Errorf("empty percentile: got %s; want 0", got)
	}
}

// TestRunSmall runs the whole command on a tiny scale in both modes: it
// builds the binaries, starts real processes and must measure without loss.
func TestRunSmall(t *testing.T) {
	var out, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := run(ctx, []string{"-mode", "all", "-services", "2", "-n", "5", "-catchup", "2"}, &out, &log)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), log.String())
	}
	for _, want := range []string{
		"| redis | logout → 401 at every service | 2 | 5 |",
		"| redis | catch-up:",
		"| feed | logout → 401 at every service | 2 | 5 |",
		"7/7 (100%)", "5/5 (100%)", "RATE_LIMITS=off",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBurstAndSustainedSmall runs the burst (both transports, batched and
// not) and sustained modes on a tiny scale: nothing lost, and the
// validator started halfway ends with exactly the writer's set.
func TestBurstAndSustainedSmall(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "burst", "-transport", "redis", "-services", "1", "-n", "3000"},
		{"-mode", "burst", "-transport", "feed", "-services", "1", "-n", "3000", "-batch", "1"},
		{"-mode", "sustained", "-transport", "redis", "-services", "2", "-rate", "200", "-duration", "1s"},
	} {
		t.Run(strings.Join(args[1:4], " "), func(t *testing.T) {
			var out, log bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := run(ctx, args, &out, &log); err != nil {
				t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), log.String())
			}
			want := "| redis | 2 | 200/s |" // lost revocations fail the run
			if args[1] == "burst" {
				want = "holds exactly the writer's set: all 3000 revocations by name"
			}
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		})
	}
}
