package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseRevokeBefore(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 500, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name    string
		args    []string
		want    revokeBefore
		wantErr string
	}{
		{"now", []string{"--time", "now"}, revokeBefore{at: now}, ""},
		{"rfc3339 and user", []string{"--time=2026-11-30T10:00:00Z", "--user", "u1"}, revokeBefore{at: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), user: "u1"}, ""},
		{"no time", nil, revokeBefore{}, "--time is required"},
		{"bad time", []string{"--time", "yesterday"}, revokeBefore{}, "not an RFC 3339 time"},
		{"unknown flag", []string{"--time", "now", "--all"}, revokeBefore{}, "usage"},
		{"stray argument", []string{"--time", "now", "extra"}, revokeBefore{}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRevokeBefore(tt.args, clock)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRevokeBefore(%q) = %v; want an error naming %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.at.Equal(tt.want.at) || got.user != tt.want.user {
				t.Errorf("parseRevokeBefore(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}
