package session

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

const configDoc = "docs/CONFIGURATION.md"

func configRows(t *testing.T) []testenv.DocRow {
	return testenv.DocTable(t, configDoc, "Validator library (`session.Config`)")
}

// Every field of Config has a row in the configuration reference, and
// every row names a field.
func TestConfigurationDocListsEveryField(t *testing.T) {
	documented := map[string]bool{}
	for _, r := range configRows(t) {
		documented[r.Name] = true
	}
	typ := reflect.TypeFor[Config]()
	for f := range typ.Fields() {
		if f.IsExported() && !documented[f.Name] {
			t.Errorf("Config.%s has no row in %s", f.Name, configDoc)
		}
		delete(documented, f.Name)
	}
	for name := range documented {
		t.Errorf("%s documents %s; Config has no such field", configDoc, name)
	}
}

// Setting a field to the default its row states changes nothing once the
// defaults are applied.
func TestConfigurationDocDefaultsAreTheDefaults(t *testing.T) {
	base := Config{JWTSecret: "doc-test-secret-of-at-least-32-bytes", RedisAddr: "127.0.0.1:6379"}
	want, err := base.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, r := range configRows(t) {
		v, ok := r.Literal()
		if !ok {
			continue
		}
		cfg := base
		field := reflect.ValueOf(&cfg).Elem().FieldByName(r.Name)
		if !field.IsValid() {
			t.Errorf("%s documents %s; Config has no such field", configDoc, r.Name)
			continue
		}
		switch field.Interface().(type) {
		case time.Duration:
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Errorf("%s: documented default %q is not a duration", r.Name, v)
				continue
			}
			field.SetInt(int64(d))
		case int:
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Errorf("%s: documented default %q is not a number", r.Name, v)
				continue
			}
			field.SetInt(int64(n))
		case bool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				t.Errorf("%s: documented default %q is not a boolean", r.Name, v)
				continue
			}
			field.SetBool(b)
		case string:
			field.SetString(v)
		default:
			continue // a function or client: the row describes it in words
		}
		tested++
		got, err := cfg.withDefaults()
		if err != nil {
			t.Errorf("%s = %s (its documented default): %v", r.Name, v, err)
			continue
		}
		g, w := reflect.ValueOf(got).FieldByName(r.Name).Interface(), reflect.ValueOf(want).FieldByName(r.Name).Interface()
		if g != w {
			t.Errorf("%s = %s (its documented default): got %v after defaults; want %v", r.Name, v, g, w)
		}
	}
	if tested < 8 {
		t.Errorf("checked %d literal defaults; want the table's (at least 8)", tested)
	}
}
