package main

import (
	"reflect"
	"testing"

	"github.com/authmesh/authmesh/internal/testenv"
)

const configDoc = "docs/CONFIGURATION.md"

func exampleRows(t *testing.T) []testenv.DocRow {
	return testenv.DocTable(t, configDoc, "Example microservice (`examples/example-microservice`)")
}

// Every variable the example reads has a row in the configuration
// reference, and every row names a variable it reads.
func TestConfigurationDocListsEveryVariable(t *testing.T) {
	read := map[string]bool{}
	if _, _, err := loadConfig(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, r := range exampleRows(t) {
		documented[r.Name] = true
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("loadConfig reads %s; want a row for it in %s", name, configDoc)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("%s documents %s; loadConfig never reads it", configDoc, name)
		}
	}
}

// Setting a variable to the default its row states changes nothing.
func TestConfigurationDocDefaultsAreTheDefaults(t *testing.T) {
	none := func(string) string { return "" }
	base, basePort, err := loadConfig(none)
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, r := range exampleRows(t) {
		v, ok := r.Literal()
		if !ok {
			continue
		}
		tested++
		t.Run(r.Name, func(t *testing.T) {
			cfg, port, err := loadConfig(func(k string) string {
				if k == r.Name {
					return v
				}
				return ""
			})
			if err != nil {
				t.Fatalf("%s=%s (its documented default): %v", r.Name, v, err)
			}
			if port != basePort || !reflect.DeepEqual(cfg, base) {
				t.Errorf("%s=%s (its documented default): got %+v on %s; want %+v on %s", r.Name, v, cfg, port, base, basePort)
			}
		})
	}
	if tested < 5 {
		t.Errorf("checked %d literal defaults; want the table's (at least 5)", tested)
	}
}
