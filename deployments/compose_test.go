package deployments

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeFile is the fields of a normalised Compose file the tests check.
type composeFile struct {
	Services map[string]struct {
		Command     []string
		Entrypoint  []string
		Environment map[string]string
		Healthcheck struct{ Test []string }
		DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
		Ports       []any                                 // "127.0.0.1:6379:6379/tcp", or {published, target}
		Secrets     []struct{ Source string }
		Volumes     []any // "name:/path:rw", or {type, source, target}
	}
	Secrets map[string]struct{ File string }
	Volumes map[string]any
}

// composeConfig validates deployments/docker-compose.yml with the real
// docker-compose (Debian's 1.29, which scripts/test.sh installs) and
// returns its normalised form (anchors merged, defaults filled), run from
// this directory as the quick start does (cd deployments).
func composeConfig(t *testing.T) composeFile {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed: run the tests with scripts/test.sh, which installs it (apt-get install docker-compose)")
	}
	cmd := exec.Command(bin, "-f", "docker-compose.yml", "config")
	cmd.Env = append(os.Environ(), "VERSION=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr.String())
	}
	if w := strings.TrimSpace(stderr.String()); w != "" {
		t.Errorf("docker-compose config warns: %s", w)
	}
	var c composeFile
	if err := yaml.Unmarshal(out, &c); err != nil {
		t.Fatalf("decode docker-compose config: %v\n%s", err, out)
	}
	return c
}

// secretVariables are the variables that hold a secret; in Compose they
// are given only as files (NAME_FILE).
var secretVariables = []string{"JWT_SECRET", "KEY_ENCRYPTION_SECRET", "REDIS_PASSWORD", "DATABASE_URL", "FEED_TOKEN", "POSTGRES_PASSWORD"}

// TestComposeFile: the Compose file is valid, Redis starts on its own for
// the quick start (docker-compose up -d redis) with AOF on and its port on
// this machine, every service has a health check (the authmesh binaries'
// own healthcheck subcommand) and waits for the health of what it needs,
// secrets reach services only as files, and data lives in named volumes.
func TestComposeFile(t *testing.T) {
	c := composeConfig(t)
	for _, name := range []string{"redis", "postgres", "auth", "example", "example-grpc"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}

	redis := c.Services["redis"]
	if len(redis.DependsOn) != 0 || len(redis.Secrets) != 0 {
		t.Errorf("redis depends on %v and needs secrets %v; the quick start starts it alone", redis.DependsOn, redis.Secrets)
	}
	if !slices.ContainsFunc(redis.Ports, func(p any) bool { return publishes(p, 6379) }) {
		t.Errorf("redis publishes %v; the quick start connects to localhost:6379", redis.Ports)
	}
	if i := slices.Index(redis.Command, "--appendonly"); i < 0 || i+1 >= len(redis.Command) || redis.Command[i+1] != "yes" {
		t.Errorf("redis command %q: want --appendonly yes", redis.Command)
	}

	needs := map[string][]string{"auth": {"postgres", "redis"}, "example": {"auth", "redis"}, "example-grpc": {"auth", "redis"}}
	for name, s := range c.Services {
		t.Run(name, func(t *testing.T) {
			if len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" {
				t.Errorf("health check %q: want an exec-form [CMD, ...] test", s.Healthcheck.Test)
			}
			if strings.HasPrefix(strings.Join(s.Healthcheck.Test, " "), "CMD /usr/local/bin/") && !slices.Contains(s.Healthcheck.Test, "healthcheck") {
				t.Errorf("health check %q: want the binary's healthcheck subcommand (no curl in the image)", s.Healthcheck.Test)
			}
			for _, dep := range needs[name] {
				if got := s.DependsOn[dep].Condition; got != "service_healthy" {
					t.Errorf("depends on %s with condition %q; want service_healthy", dep, got)
				}
			}
			var mounted []string
			for _, sec := range s.Secrets {
				mounted = append(mounted, "/run/secrets/"+sec.Source)
				if f := c.Secrets[sec.Source].File; f == "" {
					t.Errorf("secret %s has no file", sec.Source)
				} else if _, err := os.Stat(f); err != nil {
					t.Errorf("secret %s: %v", sec.Source, err)
				}
			}
			for k, v := range s.Environment {
				if slices.Contains(secretVariables, k) {
					t.Errorf("%s is set in the environment; give it as a file (%s_FILE)", k, k)
				}
				if strings.HasSuffix(k, "_FILE") && !slices.Contains(mounted, v) {
					t.Errorf("%s=%s is not one of the service's mounted secrets %v", k, v, mounted)
				}
			}
			for _, v := range s.Volumes {
				if _, named := c.Volumes[volumeSource(v)]; !named {
					t.Errorf("volume %v: want a named volume declared in volumes:", v)
				}
			}
		})
	}
	for _, name := range []string{"redis", "postgres"} {
		if len(c.Services[name].Volumes) == 0 {
			t.Errorf("%s keeps its data in no volume", name)
		}
	}
}

// publishes reports whether a port entry of either syntax publishes port
// on the host's same port.
func publishes(p any, port int) bool {
	switch p := p.(type) {
	case string: // [IP:]PUBLISHED:TARGET[/PROTO]
		p, _, _ = strings.Cut(p, "/")
		parts := strings.Split(p, ":")
		n := len(parts)
		return n >= 2 && parts[n-2] == strconv.Itoa(port) && parts[n-1] == strconv.Itoa(port)
	case map[string]any:
		return p["published"] == port && p["target"] == port
	}
	return false
}

// volumeSource is the source of a volume entry of either syntax: a named
// volume's name, or a host path.
func volumeSource(v any) string {
	switch v := v.(type) {
	case string: // SOURCE:TARGET[:MODE]
		src, _, _ := strings.Cut(v, ":")
		return src
	case map[string]any:
		if v["type"] == "volume" {
			src, _ := v["source"].(string)
			return src
		}
	}
	return ""
}
