package build_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/build"
	"harpy/internal/testenv"
	"harpy/packaging"
	"harpy/profiles"
	"harpy/specs"
)

// TestPackageStep runs the real pipeline (cached compile) with the package
// step appended: the RPM holds the pipeline's binary and says what it is.
func TestPackageStep(t *testing.T) {
	testenv.Tarball(t, "2.6.12")
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load(t.Context(), profiles.Default)
	if err != nil {
		t.Fatal(err)
	}
	out, err := profiles.Render(p, profiles.Options{Dist: "el9"})
	if err != nil {
		t.Fatal(err)
	}
	step := &build.PackageStep{Options: packaging.Options{
		Dist: "el9", Release: "4", OutDir: t.TempDir(), Formats: []string{"rpm", "deb"},
		Config: out.HAProxyCfg, Rsyslog: out.Rsyslog, Logrotate: out.Logrotate, SourceDateEpoch: 1700000000,
	}}
	var progress bytes.Buffer
	_, err = build.Run(context.Background(), build.Options{
		Catalog: cat, Request: specs.Request{Version: "2.6.12"}, CacheDir: testenv.CacheDir(t),
		Mirrors: []string{"file://" + testenv.TarballDir(t)}, Progress: &progress,
	}, append(build.Steps(), step))
	if err != nil {
		t.Fatalf("pipeline with package step: %v\n%s", err, progress.String())
	}
	if len(step.Made) != 2 || filepath.Base(step.Made[0]) != "haproxy-2.6.12-4.el9.x86_64.rpm" || filepath.Base(step.Made[1]) != "haproxy_2.6.12-4_amd64.deb" {
		t.Fatalf("made %v", step.Made)
	}
	if !strings.Contains(progress.String(), "package: "+step.Made[0]) {
		t.Errorf("progress does not name the package:\n%s", progress.String())
	}
	q, err := exec.Command(testenv.Tool(t, "rpm"), "-qp", "--requires", step.Made[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline's 2.6.12 has USE_SYSTEMD, so the package requires libsystemd.
	if !strings.Contains(string(q), "libsystemd.so.0()(64bit)") {
		t.Errorf("rpm -qp --requires:\n%s", q)
	}
}
