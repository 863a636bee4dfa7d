// Tests of the deployment files: the Dockerfile's build, and the Compose
// file. Docker itself is not needed: the Dockerfile builds with
// scripts/build.sh, which these tests run and whose binaries they inspect.
package deployments

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root, one level up from this package.
const root = ".."

// dockerfile is one instruction per entry (continuation lines joined,
// comments dropped), as "KEYWORD arguments".
func dockerfile(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		out = append(out, cur+line)
		cur = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDockerfileShape: the image is built by scripts/build.sh (what
// TestReleaseBuild checks), and its runtime stage is a distroless static
// base running a non-root user with an exec-form entrypoint (there is no
// shell to run a string form).
func TestDockerfileShape(t *testing.T) {
	ins := dockerfile(t)
	var stages [][]string // instructions of each FROM
	for _, in := range ins {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("got %d stages; want a build stage and a runtime stage", len(stages))
	}
	build, runtime := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	if !strings.Contains(build, "scripts/build.sh") {
		t.Errorf("the build stage does not run scripts/build.sh:\n%s", build)
	}
	if from := runtime[0]; !strings.Contains(from, "distroless/static") && !strings.Contains(from, "scratch") {
		t.Errorf("runtime stage %q: want distroless/static or scratch (no shell, no libc)", from)
	}
	var user, entrypoint string
	for _, in := range runtime {
		keyword, args, _ := strings.Cut(in, " ")
		switch strings.ToUpper(keyword) {
		case "USER":
			user = strings.TrimSpace(args)
		case "ENTRYPOINT", "CMD":
			entrypoint = strings.TrimSpace(args)
			if !strings.HasPrefix(entrypoint, "[") {
				t.Errorf("%s %s: want the exec form [\"...\"]; there is no shell in the image", keyword, args)
			}
		case "RUN":
			t.Errorf("RUN %s in the runtime stage: it has no shell", args)
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "0" || name == "root" {
		t.Errorf("runtime USER %q: want a non-root user", user)
	}
	if entrypoint == "" {
		t.Error("no ENTRYPOINT in the runtime stage")
	}
}

// TestReleaseBuild runs the Dockerfile's build (scripts/build.sh) and
// checks every binary it makes: the auth service, the CLI and each example, static
// (no ELF interpreter, no shared library), built with -trimpath and
// CGO_ENABLED=0, and stamped with VERSION.
func TestReleaseBuild(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts", "build.sh"), out)
	cmd.Env = append(os.Environ(), "VERSION=v9.9.9-test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build.sh: %v\n%s", err, b)
	}
	want := []string{"server", "authmesh"}
	examples, err := filepath.Glob(filepath.Join(root, "examples", "*", "main.go"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no example services found (%v)", err)
	}
	for _, m := range examples {
		want = append(want, filepath.Base(filepath.Dir(m)))
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(out, name)
			f, err := elf.Open(path)
			if err != nil {
				t.Fatalf("scripts/build.sh made no %s: %v", name, err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("%s has a %s program header: dynamically linked", name, p.Type)
				}
			}
			if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
				t.Errorf("%s needs shared libraries %v (%v); want none", name, libs, err)
			}
			info, err := buildinfo.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]string{}
			for _, s := range info.Settings {
				settings[s.Key] = s.Value
			}
			if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
				t.Errorf("%s build settings %v: want CGO_ENABLED=0 and -trimpath=true", name, settings)
			}
			// -trimpath leaves -ldflags out of the build settings; the
			// stamped version is in the binary's data.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte("v9.9.9-test")) {
				t.Errorf("%s does not hold VERSION (main.version)", name)
			}
			if abs, _ := filepath.Abs(root); bytes.Contains(b, []byte(abs)) {
				t.Errorf("%s holds the build directory %s: not reproducible elsewhere", name, abs)
			}
		})
	}
}
