package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"harpy/internal/testenv"
)

// TestRPM checks each dist's native RPM with the real rpm: name, tags, the
// exact file list with modes, owners and flags, scriptlets, Requires, mtimes.
func TestRPM(t *testing.T) {
	for _, tc := range []struct {
		dist     string
		scripts  []string // must appear in rpm -qp --scripts
		requires []string
		payload  string // %{PAYLOADCOMPRESSOR}|%{PAYLOADFLAGS}
	}{
		{"el9", []string{"groupadd -r haproxy", "systemctl --no-reload preset haproxy.service", "systemctl --no-reload disable haproxy.service", "systemctl reload-or-try-restart haproxy.service"},
			[]string{"/bin/sh", "libssl.so.3()(64bit)", "libcrypto.so.3()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", "rtld(GNU_HASH)", "shadow-utils", "systemd", "logrotate",
				"rpmlib(CompressedFileNames) <= 3.0.4-1", "rpmlib(FileDigests) <= 4.6.0-1", "rpmlib(PayloadFilesHavePrefix) <= 4.0-1", "rpmlib(PayloadIsZstd) <= 5.4.18-1"},
			"zstd|19"},
		{"el6", []string{"groupadd -r haproxy", "/sbin/chkconfig --add haproxy", "/sbin/chkconfig --del haproxy", "/sbin/service haproxy condrestart"},
			[]string{"/bin/sh", "libssl.so.3()(64bit)", "chkconfig", "initscripts", "shadow-utils", "logrotate",
				"rpmlib(CompressedFileNames) <= 3.0.4-1", "rpmlib(FileDigests) <= 4.6.0-1", "rpmlib(PayloadFilesHavePrefix) <= 4.0-1", "rpmlib(PayloadIsXz) <= 5.2-1"},
			"xz|6"},
	} {
		t.Run(tc.dist, func(t *testing.T) {
			o := testOptions(t, tc.dist)
			pkg := build1(t, o)
			if got, want := filepath.Base(pkg), "haproxy-2.6.12-1."+tc.dist+".x86_64.rpm"; got != want {
				t.Errorf("file name %s, want %s", got, want)
			}
			golden(t, "rpm-"+tc.dist+".files", run(t, "rpm", "-qp", "--qf", fileQuery, pkg))

			tags := run(t, "rpm", "-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{PACKAGER}|%{GROUP}|%{VENDOR}|%{URL}|%{LICENSE}|%{BUILDHOST}|%{BUILDTIME}|%{CHANGELOGNAME}", pkg)
			want := "haproxy|2.6.12|1." + tc.dist + "|x86_64|harpy tests <root@localhost>|System Environment/Daemons|harpy|https://www.haproxy.org/|GPLv2+ and LGPLv2+|harpy|1700000000|harpy tests <root@localhost> - 2.6.12-1." + tc.dist
			if tags != want {
				t.Errorf("tags\n got %s\nwant %s", tags, want)
			}
			for _, m := range strings.Fields(run(t, "rpm", "-qp", "--qf", "[%{FILEMTIMES}\n]", pkg)) {
				if m != strconv.Itoa(testEpoch) {
					t.Fatalf("file mtime %s, want SOURCE_DATE_EPOCH %d", m, testEpoch)
				}
			}

			scripts := run(t, "rpm", "-qp", "--scripts", pkg)
			for _, s := range tc.scripts {
				if !strings.Contains(scripts, s) {
					t.Errorf("rpm -qp --scripts lacks %q:\n%s", s, scripts)
				}
			}
			// Each scriptlet, as rpm stores it, parses under dash and bash and passes shellcheck.
			for _, tag := range []string{"PREIN", "POSTIN", "PREUN", "POSTUN"} {
				body := run(t, "rpm", "-qp", "--qf", "%{"+tag+"}", pkg)
				f := filepath.Join(t.TempDir(), tag+".sh")
				if err := os.WriteFile(f, []byte(body+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				run(t, "dash", "-n", f)
				run(t, "bash", "-n", f)
				run(t, "shellcheck", "-s", "sh", f)
			}

			reqs := strings.Split(strings.TrimSpace(run(t, "rpm", "-qp", "--requires", pkg)), "\n")
			for _, r := range tc.requires {
				if !slices.Contains(reqs, r) {
					t.Errorf("Requires lack %q: %v", r, reqs)
				}
			}
			// Each rpmlib() requirement is a feature this rpm's library has, at the
			// version it names (as rpmbuild writes them: "rpmlib(F) <= V").
			features := run(t, "rpm", "--showrc")
			for _, r := range reqs {
				if name, ver, ok := strings.Cut(r, " <= "); ok && strings.HasPrefix(name, "rpmlib(") {
					if !strings.Contains(features, "    "+name+" = "+ver+"\n") {
						t.Errorf("Requires %q: not a feature of rpm --showrc", r)
					}
				} else if strings.HasPrefix(r, "rpmlib(") {
					t.Errorf("Requires %q: want rpmlib(F) <= V", r)
				}
			}
			// The payload tags say how it is compressed, and the header carries
			// rpm's digests: SHA-256 and SHA-1 of the header, MD5 of header+payload,
			// SHA-256 of the payload.
			if got := run(t, "rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}|%{PAYLOADFLAGS}", pkg); got != tc.payload {
				t.Errorf("payload %s, want %s", got, tc.payload)
			}
			digests := run(t, "rpm", "-qp", "--qf", "%{SHA256HEADER}|%{SHA1HEADER}|%{SIGMD5}|%{PAYLOADDIGEST}|%{PAYLOADDIGESTALGO}", pkg)
			if !regexp.MustCompile(`^[0-9a-f]{64}\|[0-9a-f]{40}\|[0-9a-f]{32}\|[0-9a-f]{64}\|8$`).MatchString(digests) {
				t.Errorf("header digests %q, want SHA256HEADER|SHA1HEADER|SIGMD5|PAYLOADDIGEST|8 (SHA-256)", digests)
			}
			kv := run(t, "rpm", "-Kv", pkg)
			for _, w := range []string{"Header SHA256 digest: OK", "Header SHA1 digest: OK", "Payload SHA256 digest: OK", "MD5 digest: OK"} {
				if !strings.Contains(kv, w) {
					t.Errorf("rpm -Kv lacks %q:\n%s", w, kv)
				}
			}
			// The ELF requirements are exactly what rpm's own generator derives.
			bin := filepath.Join(t.TempDir(), "haproxy")
			extract(t, pkg, "./usr/sbin/haproxy", bin)
			cmd := exec.CommandContext(t.Context(), "/usr/lib/rpm/elfdeps", "-R")
			cmd.Stdin = strings.NewReader(bin + "\n")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("rpm's elfdeps -R: %v", err)
			}
			for _, r := range strings.Fields(string(out)) {
				if !slices.Contains(reqs, r) {
					t.Errorf("rpm's elfdeps derives %q; harpy's Requires lack it", r)
				}
			}
			for _, r := range reqs {
				if strings.Contains(r, ".so") && !bytes.Contains(out, []byte(r+"\n")) {
					t.Errorf("harpy requires %q; rpm's elfdeps does not derive it", r)
				}
			}
			if got := run(t, "rpm", "-K", pkg); !strings.Contains(got, "digests OK") {
				t.Errorf("rpm -K: %s", got)
			}
		})
	}
}

// extract unpacks one member of an RPM's payload into dst's directory. The
// payload's names are ./-relative (TestPayloadNames); cpio's
// --no-absolute-filenames stays as a second guard that nothing lands outside
// the test's directory.
func extract(t *testing.T, pkg, member, dst string) {
	t.Helper()
	dir := t.TempDir()
	cpioExtract(t, pkg, dir)
	b, err := os.ReadFile(filepath.Join(dir, member))
	if err != nil {
		t.Fatalf("%s not in the payload: %v", member, err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// cpioExtract runs `rpm2cpio PKG | cpio -idm --no-absolute-filenames` in dir;
// both must succeed (rpmpack's payloads made rpm2cpio exit 1, rpmpack#60; nfpm
// 2.48's do not).
func cpioExtract(t *testing.T, pkg, dir string) {
	t.Helper()
	testenv.Tool(t, "rpm2cpio")
	testenv.Tool(t, "cpio")
	testenv.Tool(t, "bash")
	cmd := exec.CommandContext(t.Context(), "bash", "-c", `set -o pipefail; rpm2cpio "$1" | cpio -idm --no-absolute-filenames --quiet`, "bash", pkg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpm2cpio | cpio in %s: %v\n%s", dir, err, out)
	}
}

// TestPayloadNames: every cpio member name is ./-relative, as rpmbuild writes
// them (rpmpack, nfpm ≤ 2.47, wrote absolute ones, so a plain `cpio -idm`
// wrote into /), and the payload lists exactly the header's files.
func TestPayloadNames(t *testing.T) {
	for _, dist := range []string{"el9", "el6"} {
		t.Run(dist, func(t *testing.T) {
			pkg := build1(t, testOptions(t, dist))
			testenv.Tool(t, "bash")
			cmd := exec.CommandContext(t.Context(), "bash", "-c", `set -o pipefail; rpm2cpio "$1" | cpio -t --quiet`, "bash", pkg)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("rpm2cpio | cpio -t: %v", err)
			}
			names := strings.Split(strings.TrimSpace(string(out)), "\n")
			if !slices.Contains(names, "./usr/sbin/haproxy") {
				t.Errorf("payload lacks ./usr/sbin/haproxy: %v", names)
			}
			var want []string
			for _, f := range strings.Split(strings.TrimSpace(run(t, "rpm", "-qp", "--qf", "[%{FILENAMES}\n]", pkg)), "\n") {
				want = append(want, "."+f)
			}
			for _, n := range names {
				if !strings.HasPrefix(n, "./") || strings.Contains(n, "/../") {
					t.Errorf("payload member %q is not ./-relative", n)
				}
			}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("payload members\n%v\nheader's files with ./\n%v", names, want)
			}
		})
	}
}

// TestExtractAndRun extracts the payload inside the test's directory and runs
// the packaged binary.
func TestExtractAndRun(t *testing.T) {
	pkg := build1(t, testOptions(t, "el9"))
	dir := t.TempDir()
	cpioExtract(t, pkg, dir)
	vv := run(t, filepath.Join(dir, "usr/sbin/haproxy"), "-vv")
	for _, w := range []string{"HAProxy version 2.6.12", "+OPENSSL", "+LUA", "+PCRE2"} {
		if !strings.Contains(vv, w) {
			t.Errorf("packaged haproxy -vv lacks %q", w)
		}
	}
	// The packaged config is the rendered one, byte for byte.
	got, err := os.ReadFile(filepath.Join(dir, "etc/haproxy/haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := rendered("el9")
	if !bytes.Equal(got, out.HAProxyCfg) {
		t.Error("packaged haproxy.cfg differs from the rendered one")
	}
	// The man page is gzipped and still a man page.
	man := run(t, "sh", "-c", `gzip -dc "$1" | head -c 200`, "sh", filepath.Join(dir, "usr/share/man/man1/haproxy.1.gz"))
	if !strings.Contains(man, "HAPROXY") && !strings.Contains(man, "haproxy") {
		t.Errorf("man page: %q", man)
	}
}

// TestReproducible: the same inputs give the same bytes; another
// SOURCE_DATE_EPOCH gives other bytes (so the check can fail).
func TestReproducible(t *testing.T) {
	for _, format := range []string{"rpm", "deb"} {
		t.Run(format, func(t *testing.T) {
			a := testOptions(t, "el9", format)
			b := a
			b.OutDir = t.TempDir()
			c := a
			c.OutDir, c.SourceDateEpoch = t.TempDir(), testEpoch+86400
			ba, bb, bc := readFile(t, build1(t, a)), readFile(t, build1(t, b)), readFile(t, build1(t, c))
			if !bytes.Equal(ba, bb) {
				t.Errorf("two %s builds from the same inputs differ", format)
			}
			if bytes.Equal(ba, bc) {
				t.Errorf("SOURCE_DATE_EPOCH does not reach the %s", format)
			}
		})
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPackagedServiceFiles checks the service files as packaged: the el9 unit
// with systemd-analyze verify, the el6 init script with shellcheck.
func TestPackagedServiceFiles(t *testing.T) {
	for _, tc := range []struct{ dist, path, tool string }{
		{"el9", "usr/lib/systemd/system/haproxy.service", "systemd-analyze"},
		{"el6", "etc/rc.d/init.d/haproxy", "shellcheck"},
	} {
		t.Run(tc.dist, func(t *testing.T) {
			dir := t.TempDir()
			cpioExtract(t, build1(t, testOptions(t, tc.dist)), dir)
			f := filepath.Join(dir, tc.path)
			switch tc.tool {
			case "systemd-analyze":
				unit, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range []string{"Type=notify", "ExecStartPre=/usr/sbin/haproxy -Ws -f $CONFIG -c -q", "ExecReload=/bin/kill -USR2 $MAINPID", "EnvironmentFile=-/etc/sysconfig/haproxy"} {
					if !strings.Contains(string(unit), w) {
						t.Errorf("packaged unit lacks %q", w)
					}
				}
				if out := run(t, "systemd-analyze", "verify", f); strings.TrimSpace(out) != "" {
					t.Errorf("systemd-analyze verify: %s", out)
				}
			case "shellcheck":
				run(t, "shellcheck", "-s", "sh", f)
				if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o755 {
					t.Errorf("init script mode: %v %v", st, err)
				}
			}
		})
	}
}
