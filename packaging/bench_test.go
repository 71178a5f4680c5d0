package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"harpy/internal/testenv"
	"harpy/profiles"
)

// benchOptions packages the pipeline's staged 2.6.12 with the default profile.
func benchOptions(b *testing.B, compression string) Options {
	b.Helper()
	p, err := profiles.Load(b.Context(), profiles.Default)
	if err != nil {
		b.Fatal(err)
	}
	out, err := profiles.Render(p, profiles.Options{Dist: "el9"})
	if err != nil {
		b.Fatal(err)
	}
	return Options{
		Version: testVersion, Dist: "el9", StageDir: testenv.Staged(b, testVersion), OutDir: b.TempDir(),
		Systemd: true, Config: out.HAProxyCfg, Rsyslog: out.Rsyslog, Logrotate: out.Logrotate,
		SourceDateEpoch: testEpoch, Compression: compression,
	}
}

// BenchmarkNative: harpy's native RPM by payload compression; reports the size.
func BenchmarkNative(b *testing.B) {
	for _, c := range []string{"gzip", "xz", "zstd:3", "zstd:19"} {
		b.Run(c, func(b *testing.B) {
			o := benchOptions(b, c)
			var size int64
			for b.Loop() {
				paths, err := Build(b.Context(), o)
				if err != nil {
					b.Fatal(err)
				}
				st, _ := os.Stat(paths[0])
				size = st.Size()
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// BenchmarkDeb: harpy's native .deb (xz data).
func BenchmarkDeb(b *testing.B) {
	o := benchOptions(b, "")
	o.Formats = []string{"deb"}
	var size int64
	for b.Loop() {
		paths, err := Build(b.Context(), o)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(paths[0])
		size = st.Size()
	}
	b.ReportMetric(float64(size), "bytes")
}

// BenchmarkRpmbuild: rpmbuild -bb on the exported spec (packaging only: its
// %install just unpacks the files), same payload compression.
func BenchmarkRpmbuild(b *testing.B) {
	testenv.Tool(b, "rpmbuild")
	for _, c := range []string{"gzip", "xz", "zstd:19"} {
		b.Run(c, func(b *testing.B) {
			o := benchOptions(b, c)
			dir := b.TempDir()
			res, err := ExportSpec(b.Context(), o, dir)
			if err != nil {
				b.Fatal(err)
			}
			var size int64
			for b.Loop() {
				top := b.TempDir()
				cmd := exec.CommandContext(b.Context(), "rpmbuild", "-bb", "--nodeps", "--quiet",
					"--define", "_topdir "+top, "--define", "_sourcedir "+dir, res.Spec)
				cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("rpmbuild: %v\n%s", err, out)
				}
				rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
				st, _ := os.Stat(rpms[0])
				size = st.Size()
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
