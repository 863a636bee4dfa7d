package token

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseClaims(t *testing.T) {
	tests := []struct {
		in   string
		want Claims
		ok   bool
	}{
		{`{"sub":"a","aud":"x","exp":10,"gen":3}`, Claims{Subject: "a", Audience: []string{"x"}, ExpiresAt: 10, Generation: 3}, true},
		{` { "aud" : [ "x" , "y" ] , "iat" : 1.9e1 } `, Claims{Audience: []string{"x", "y"}, IssuedAt: 19}, true},
		{`{"s\u0075b":"\u00e9\ud83d\ude00\n","other":{"a":[1,{"b":null}]},"exp":null}`, Claims{Subject: "é😀\n"}, true},
		{`{"aud":[]}`, Claims{Audience: []string{}}, true},
		{`{"sub":"\ud800x\u002F\/","jti":"\ud83d\u0041"}`, Claims{Subject: "\ufffdx//", ID: "\ufffdA"}, true}, // lone surrogates, as go-jose reads them
		{`{"sub":"\u12G4"}`, Claims{}, false},
		{`{"sub":"\u12"}`, Claims{}, false},
		{"{\"sub\":\"\\n\xff\"}", Claims{}, false}, // escaped and invalid UTF-8
		{`{}`, Claims{}, true},
		{`{"sub":"a","sub":"b"}`, Claims{}, false},
		{`{"x":1,"x":1}`, Claims{}, false},
		{`{"a":1,"\u0061":2}`, Claims{}, false},
		{`{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"a3":3}`, Claims{}, false},
		{`{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"sub":"x"}`, Claims{Subject: "x"}, true},
		{`{"x":{"a":1,"a":2}}`, Claims{}, true}, // nested objects are skipped, as by go-jose
		{`{"SUB":"a"}`, Claims{}, true},         // names match exactly
		{`{"sub":1}`, Claims{}, false},
		{`{"aud":[1]}`, Claims{}, false},
		{`{"gen":1.5}`, Claims{}, false},
		{`{"exp":01}`, Claims{}, false},
		{`{"exp":1e999}`, Claims{}, false},
		{`{"sub":"a"} x`, Claims{}, false},
		{`{"sub":"a",}`, Claims{}, false},
		{`{"sub":"\x01"}`, Claims{}, false},
		{"{\"sub\":\"\xff\"}", Claims{}, false},
		{`{"sub":"\q"}`, Claims{}, false},
		{`[]`, Claims{}, false},
		{``, Claims{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseClaims([]byte(tt.in))
			if (err == nil) != tt.ok || (tt.ok && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("parseClaims = %+v, %v; want %+v, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseClaims: the reader never panics and never accepts what
// encoding/json calls invalid JSON.
func FuzzParseClaims(f *testing.F) {
	for _, s := range []string{`{"sub":"a","aud":["x"],"exp":1.5e3}`, `{"a":{"b":[true,false,null,-0.1E+2]}}`,
		`{"k\u00e9y":"\ud800"}`, `{"x":[[[[[]]]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errC := parseClaims(data)
		_, errH := parseHeader(data)
		if (errC == nil || errH == nil) && !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}
