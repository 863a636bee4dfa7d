package revoke

import (
	"fmt"
	"testing"
)

func TestSetReserve(t *testing.T) {
	tests := []struct {
		name                    string
		before                  []Entry // applied before reserve
		tokens, sessions, users int
		wantKept                int
	}{
		{name: "empty set", tokens: 1000, sessions: 10, users: 1},
		{name: "zero hints", tokens: 0},
		{
			name:   "filled maps are kept",
			before: []Entry{{Kind: KindToken, ID: "j", Expires: 10}, {Kind: KindUser, ID: "u", Before: 5, Expires: 10}},
			tokens: 1000, sessions: 1000, users: 1000, wantKept: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			s.ApplyAll(tt.before)
			s.Reserve(tt.tokens, tt.sessions, tt.users)
			if got := s.Len(); got != tt.wantKept {
				t.Fatalf("Len after reserve = %d; want %d", got, tt.wantKept)
			}
			for _, e := range tt.before {
				if _, ok := s.Check(e.ID, e.ID, e.ID, 0); !ok {
					t.Errorf("%+v lost by reserve", e)
				}
			}
			for i := 0; i < 2000; i++ {
				s.Apply(Entry{Kind: KindSession, ID: fmt.Sprint("s", i), Expires: 10})
			}
			if got, want := s.Len(), tt.wantKept+2000; got != want {
				t.Errorf("Len = %d; want %d", got, want)
			}
		})
	}
}
