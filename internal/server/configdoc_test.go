package server_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/internal/testenv"
)

const configDoc = "docs/CONFIGURATION.md"

func authServiceRows(t *testing.T) []testenv.DocRow {
	return testenv.DocTable(t, configDoc, "Auth service (`cmd/server`)")
}

// Every variable LoadConfig reads has a row in the configuration
// reference, and every row names a variable it reads.
func TestConfigurationDocListsEveryVariable(t *testing.T) {
	read := map[string]bool{}
	if _, err := server.LoadConfig(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, r := range authServiceRows(t) {
		documented[r.Name] = true
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("LoadConfig reads %s; want a row for it in %s", name, configDoc)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("%s documents %s; LoadConfig never reads it", configDoc, name)
		}
	}
}

// Setting a variable to the default its row states changes nothing.
func TestConfigurationDocDefaultsAreTheDefaults(t *testing.T) {
	base, err := server.LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, r := range authServiceRows(t) {
		v, ok := r.Literal()
		if !ok {
			continue
		}
		tested++
		t.Run(r.Name, func(t *testing.T) {
			c, err := server.LoadConfig(env(map[string]string{r.Name: v}))
			if err != nil {
				t.Fatalf("%s=%s (its documented default): %v", r.Name, v, err)
			}
			if !reflect.DeepEqual(c, base) {
				t.Errorf("%s=%s (its documented default): got %+v; want the default configuration %+v", r.Name, v, c, base)
			}
		})
	}
	if tested < 15 {
		t.Errorf("checked %d literal defaults; want the table's (at least 15)", tested)
	}
}

// Every field of Config is named after the variable it is read from
// (KEY_ENCRYPTION_SECRET is KeyEncryptionSecret), so a reader can go from
// one to the other without a table. Limits (the LOGIN_LIMIT_* family) and
// Warnings (not read) are the exceptions.
func TestConfigFieldsAreNamedAfterTheirVariables(t *testing.T) {
	read := map[string]bool{}
	if _, err := server.LoadConfig(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	squash := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	names := map[string]bool{}
	for name := range read {
		names[squash(name)] = true
	}
	fields := reflect.TypeFor[server.Config]()
	for i := range fields.NumField() {
		f := fields.Field(i).Name
		if f == "Limits" || f == "Warnings" {
			continue
		}
		if !names[squash(f)] {
			t.Errorf("Config.%s is named after no variable LoadConfig reads; name it after its variable", f)
		}
	}
}
