package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/hversion"
	"harpy/internal/testenv"
	"harpy/profiles"
)

// TestOtherReleases packages the pipeline's 2.2.9 and 3.0.11 builds with the
// default profile rendered for each: the packaged binary reports its version
// and accepts the packaged config, and the Requires follow each binary.
func TestOtherReleases(t *testing.T) {
	for _, version := range []string{"2.2.9", "3.0.11"} {
		t.Run(version, func(t *testing.T) {
			p, err := profiles.Load(t.Context(), profiles.Default)
			if err != nil {
				t.Fatal(err)
			}
			out, err := profiles.Render(p, profiles.Options{HAProxy: hversion.MustParse(version), Dist: "el9"})
			if err != nil {
				t.Fatal(err)
			}
			o := Options{
				Version: version, Dist: "el9", StageDir: testenv.Staged(t, version), OutDir: t.TempDir(),
				Systemd: testenv.Features(t, version)["SYSTEMD"], Config: out.HAProxyCfg,
				Rsyslog: out.Rsyslog, Logrotate: out.Logrotate, SourceDateEpoch: testEpoch,
			}
			pkg := build1(t, o)
			if got := filepath.Base(pkg); got != "haproxy-"+version+"-1.el9.x86_64.rpm" {
				t.Errorf("file name %s", got)
			}
			dir := t.TempDir()
			cpioExtract(t, pkg, dir)
			bin := filepath.Join(dir, "usr/sbin/haproxy")
			if vv := run(t, bin, "-vv"); !strings.Contains(vv, "version "+version) {
				t.Errorf("packaged binary -vv: %.200s", vv)
			}
			// `user haproxy` resolves at parse time: this machine has the user (Debian's haproxy).
			run(t, bin, "-c", "-f", filepath.Join(dir, "etc/haproxy/haproxy.cfg"))
			unit, err := os.ReadFile(filepath.Join(dir, "usr/lib/systemd/system/haproxy.service"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "Type=notify"; o.Systemd != strings.Contains(string(unit), want) {
				t.Errorf("USE_SYSTEMD %v but unit:\n%s", o.Systemd, unit)
			}
			reqs := run(t, "rpm", "-qp", "--requires", pkg)
			for _, r := range []string{"libssl.so.3()(64bit)", "libc.so.6()(64bit)"} {
				if !strings.Contains(reqs, r+"\n") {
					t.Errorf("Requires lack %s:\n%s", r, reqs)
				}
			}
		})
	}
}
