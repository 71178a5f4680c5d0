package packaging

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/internal/testenv"
)

// TestBuildSelf: harpy's own packages hold a static harpy and the harpy-watch unit, and
// install with dpkg and rpm (in throwaway roots) with nothing else needed: the installed
// harpy runs and systemd accepts the unit.
func TestBuildSelf(t *testing.T) {
	testenv.Real(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "harpy")
	build := exec.Command("go", "build", "-ldflags", "-s -w", "-o", bin, "harpy/cmd/harpy")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	paths, err := BuildSelf(t.Context(), Self{Binary: bin, Version: "0.18.0", Dist: "el9", Formats: []string{"rpm", "deb"}, OutDir: out, SourceDateEpoch: 1700000000})
	if err != nil || len(paths) != 2 {
		t.Fatalf("BuildSelf: %v %v", paths, err)
	}
	rpm, deb := paths[0], paths[1]
	if got := run(t, "rpm", "-qp", "--requires", rpm); strings.Contains(got, ".so") {
		t.Errorf("a static harpy requires libraries:\n%s", got)
	}
	script := `dpkg -i /tmp/p/harpy.deb >/dev/null
/usr/bin/harpy --version
systemd-analyze verify /lib/systemd/system/harpy-watch.service && echo unit-ok
dpkg -r harpy >/dev/null && [ ! -e /usr/bin/harpy ] && echo removed
rpm -i /tmp/p/harpy.rpm && rpm -q harpy && [ -x /usr/bin/harpy ] && echo rpm-ok
`
	got, err := throwaway(t, map[string]string{deb: "/tmp/p/harpy.deb", rpm: "/tmp/p/harpy.rpm"}, script)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, got)
	}
	for _, want := range []string{"harpy version", "unit-ok", "removed", "harpy-0.18.0-1.el9.x86_64", "rpm-ok"} {
		if !strings.Contains(got, want) {
			t.Errorf("install output lacks %q:\n%s", want, got)
		}
	}
	// A dynamically linked binary and a SysV dist are refused before anything is written.
	if _, err := BuildSelf(t.Context(), Self{Binary: "/bin/true", Version: "1", Dist: "el9", Formats: []string{"rpm"}, OutDir: filepath.Join(dir, "x")}); err == nil || !strings.Contains(err.Error(), "dynamically") {
		t.Errorf("dynamic binary: %v", err)
	}
	if _, err := BuildSelf(t.Context(), Self{Binary: bin, Version: "1", Dist: "el6", Formats: []string{"rpm"}, OutDir: filepath.Join(dir, "x")}); err == nil || !strings.Contains(err.Error(), "systemd el dist") {
		t.Errorf("el6: %v", err)
	}
}
