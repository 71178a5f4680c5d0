package packaging

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/build"
	"harpy/internal/testenv"
	"harpy/specs"
)

// TestStep runs the real pipeline (cached compile) with the package step
// appended: the packages hold the pipeline's binary and say what it is.
func TestStep(t *testing.T) {
	testenv.Tarball(t, testVersion)
	testenv.Staged(t, testVersion) // compile once, shared with the other tests
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions(t, "el9")
	o.StageDir, o.Version, o.Release, o.Formats = "", "", "4", []string{"rpm", "deb"}
	step := &Step{Options: o}
	var progress bytes.Buffer
	_, err = build.Run(context.Background(), build.Options{
		Catalog: cat, Request: specs.Request{Version: testVersion}, CacheDir: testenv.CacheDir(t),
		Mirrors: []string{"file://" + testenv.TarballDir(t)}, Progress: &progress,
	}, append(build.Steps(), step))
	if err != nil {
		t.Fatalf("pipeline with the package step: %v\n%s", err, progress.String())
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
	// The pipeline's 2.6.12 has USE_SYSTEMD: the package requires libsystemd.
	if !strings.Contains(string(q), "libsystemd.so.0()(64bit)") {
		t.Errorf("rpm -qp --requires:\n%s", q)
	}
	// A pipeline that stops before staging has nothing to package.
	if err := (&Step{}).Run(t.Context(), &build.State{}); err == nil {
		t.Error("packaging an empty state succeeded")
	}
}
