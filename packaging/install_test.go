package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"harpy/hint"
	"harpy/internal/testenv"
)

// gpgKey makes a fresh RSA signing key in a private GNUPGHOME and returns the
// home, the armored secret key file and the armored public key file.
func gpgKey(t *testing.T, passphrase string) (home, secret, public string) {
	t.Helper()
	testenv.Tool(t, "gpg")
	home = t.TempDir()
	env := []string{"GNUPGHOME=" + home}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), env...)
		cmd.Run()
	})
	runIn(t, "", env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", passphrase,
		"--quick-gen-key", "harpy test <test@localhost>", "rsa2048", "sign", "never")
	secret, public = filepath.Join(home, "secret.asc"), filepath.Join(home, "public.asc")
	sec := runIn(t, "", env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", passphrase, "--armor", "--export-secret-keys", "test@localhost")
	pub := runIn(t, "", env, "gpg", "--batch", "--armor", "--export", "test@localhost")
	if err := os.WriteFile(secret, []byte(sec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return home, secret, public
}

// rpmK verifies pkg with rpm -K against a keyring holding only pub.
func rpmK(t *testing.T, pkg, pub string) string {
	t.Helper()
	db := t.TempDir()
	run(t, "rpm", "--dbpath", db, "--initdb")
	run(t, "rpm", "--dbpath", db, "--import", pub)
	cmd := exec.CommandContext(t.Context(), "rpm", "--dbpath", db, "-K", pkg)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func TestSigned(t *testing.T) {
	_, secret, public := gpgKey(t, "s3cret phrase")
	o := testOptions(t, "el9")
	o.SignKey, o.SignPassphrase = secret, "s3cret phrase"
	pkg := build1(t, o)
	if got := rpmK(t, pkg, public); !strings.Contains(got, "digests signatures OK") {
		t.Errorf("rpm -K with the key imported: %s", got)
	}
	// Another key's keyring does not verify it: the check can fail.
	_, _, other := gpgKey(t, "")
	if got := rpmK(t, pkg, other); strings.Contains(got, "signatures OK") {
		t.Errorf("rpm -K with an unrelated key: %s", got)
	}
}

// TestBadInput: each mistake gets an error naming what is wrong, with a hint,
// and leaves no package (nor temporary file) in the output directory.
func TestBadInput(t *testing.T) {
	_, secret, public := gpgKey(t, "right")
	garbage := filepath.Join(t.TempDir(), "garbage.asc")
	if err := os.WriteFile(garbage, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	emptyStage := t.TempDir()
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		want   string
	}{
		{"missing stage", func(o *Options) { o.StageDir = "/nonexistent/stage" }, "/nonexistent/stage"},
		{"stage without binary", func(o *Options) { o.StageDir = emptyStage }, "usr/sbin/haproxy"},
		{"out dir is a file", func(o *Options) { o.OutDir = aFile }, "a-file"},
		{"out dir under a file", func(o *Options) { o.OutDir = filepath.Join(aFile, "out") }, "a-file"},
		{"key file missing", func(o *Options) { o.SignKey = "/nonexistent/key.asc" }, "/nonexistent/key.asc"},
		{"key is garbage", func(o *Options) { o.SignKey = garbage }, "garbage.asc"},
		{"public key only", func(o *Options) { o.SignKey = public }, "no private signing key"},
		{"wrong passphrase", func(o *Options) { o.SignKey, o.SignPassphrase = secret, "wrong" }, "wrong passphrase"},
		{"no passphrase", func(o *Options) { o.SignKey = secret }, "no passphrase"},
		{"rpm without dist", func(o *Options) { o.Dist = "" }, "needs a dist"},
		{"rpm for a Debian dist", func(o *Options) { o.Dist = "deb12" }, "deb12"},
		{"bad compression", func(o *Options) { o.Compression = "bzip2" }, "bzip2"},
		{"no config", func(o *Options) { o.Config = nil }, "haproxy.cfg"},
		{"bad release", func(o *Options) { o.Release = "1-2" }, "1-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t, "el9", "rpm", "deb")
			tc.change(&o)
			paths, err := Build(t.Context(), o)
			if err == nil {
				t.Fatalf("Build succeeded: %v", paths)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			if hint.Of(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
			if entries, _ := os.ReadDir(o.OutDir); len(entries) > 0 && o.OutDir != aFile {
				t.Errorf("output directory not empty after an error: %v", entries)
			}
		})
	}
}

// A failure while writing removes the temporary file: no partial package.
func TestCreateOutCleansUp(t *testing.T) {
	dir := t.TempDir()
	f, err := createOut(filepath.Join(dir, "x.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half a package")
	f.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestImmutableOutDir: even root cannot write into a directory with the
// immutable attribute; the error says so and nothing is left.
func TestImmutableOutDir(t *testing.T) {
	chattr := testenv.Tool(t, "chattr")
	o := testOptions(t, "el9")
	if out, err := exec.Command(chattr, "+i", o.OutDir).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i (needs CAP_LINUX_IMMUTABLE and ext4): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", o.OutDir).Run() })
	_, err := Build(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "not writable") || hint.Of(err) == "" {
		t.Fatalf("Build into an immutable dir: %v", err)
	}
}

var lintLine = regexp.MustCompile(`(?m)^\S+: ([EW]): (\S+)`)

// rpmlint runs rpmlint on pkg inside a throwaway root, whose rpm keyring holds
// pub when given, and returns its error and warning names.
func rpmlint(t *testing.T, pkg, pub string) (errs, warns []string, out string) {
	t.Helper()
	testenv.Tool(t, "rpmlint")
	files := map[string]string{pkg: "/tmp/harpy-lint/" + filepath.Base(pkg)}
	script := "cd /tmp/harpy-lint\n"
	if pub != "" {
		files[pub] = "/tmp/harpy-lint/key.asc"
		script += "rpm --import key.asc\n"
	}
	out, _ = throwaway(t, files, script+"rpmlint "+filepath.Base(pkg)+" || true")
	if !strings.Contains(out, "packages and 0 specfiles checked") {
		t.Fatalf("rpmlint did not run:\n%s", out)
	}
	for _, m := range lintLine.FindAllStringSubmatch(out, -1) {
		if m[1] == "E" {
			errs = append(errs, m[2])
		} else {
			warns = append(warns, m[2])
		}
	}
	return errs, warns, out
}

// TestRpmlintNative: the signed native RPM gets no rpmlint error at all (with
// rpmpack, nfpm ≤ 2.47, rpmlint's extraction of absolute member names gave
// no-binary and logrotate-exception); unsigned, it gets no-signature.
func TestRpmlintNative(t *testing.T) {
	_, secret, public := gpgKey(t, "")
	o := testOptions(t, "el9")
	o.SignKey = secret
	errs, warns, out := rpmlint(t, build1(t, o), public)
	if len(errs) > 0 {
		t.Errorf("rpmlint errors %v on the signed native RPM:\n%s", errs, out)
	}
	// rpmlint read the payload: it found the files and looked into the ELF
	// binary (symbols kept, as strip -g does).
	for _, w := range []string{"no-binary", "logrotate-exception"} {
		if strings.Contains(out, w) {
			t.Errorf("rpmlint did not find the payload's files (%s):\n%s", w, out)
		}
	}
	if !slices.Contains(warns, "unstripped-binary-or-object") {
		t.Errorf("rpmlint did not read the packaged binary (no unstripped-binary-or-object):\n%s", out)
	}
	t.Logf("rpmlint on the signed native RPM: errors %v, warnings %v", errs, warns)
	// Unsigned, rpmlint must say so: the lint can fail.
	errs, _, _ = rpmlint(t, build1(t, testOptions(t, "el9")), "")
	if !slices.Contains(errs, "no-signature") {
		t.Errorf("rpmlint on the unsigned RPM: %v, want no-signature", errs)
	}
}

// TestInstallUpgradeErase installs the el9 RPM with the real rpm, scriptlets
// and all, in a throwaway root; an upgrade keeps the admin's haproxy.cfg and
// writes haproxy.cfg.rpmnew; erase keeps it as .rpmsave.
func TestInstallUpgradeErase(t *testing.T) {
	o1 := testOptions(t, "el9")
	r1 := build1(t, o1)
	o2 := o1
	o2.Release, o2.OutDir = "2", t.TempDir()
	o2.Config = append(append([]byte{}, o1.Config...), []byte("# release 2\n")...)
	r2 := build1(t, o2)
	cfg2 := filepath.Join(t.TempDir(), "cfg2")
	if err := os.WriteFile(cfg2, o2.Config, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg1 := filepath.Join(t.TempDir(), "cfg1")
	if err := os.WriteFile(cfg1, o1.Config, 0o644); err != nil {
		t.Fatal(err)
	}
	script := forgetDebianHAProxy + `
userdel haproxy 2>/dev/null || true
groupdel haproxy 2>/dev/null || true
DB="--dbpath /tmp/rpmdb"
rpm $DB --initdb
rpm $DB -i --nodeps /tmp/pkgs/r1.rpm
cmp /etc/haproxy/haproxy.cfg /tmp/pkgs/cfg1 && echo cfg-is-release-1
test ! -e /etc/haproxy/haproxy.cfg.rpmnew && echo no-rpmnew-on-install
echo "user: $(id -un haproxy):$(id -gn haproxy)"
stat -c 'owner: %U:%G %a %n' /var/lib/haproxy /var/lib/haproxy/dev /var/log/haproxy
/usr/sbin/haproxy -c -f /etc/haproxy/haproxy.cfg
echo '# edited by the admin' >> /etc/haproxy/haproxy.cfg
rpm $DB -U --nodeps /tmp/pkgs/r2.rpm
rpm $DB -q haproxy
grep -q 'edited by the admin' /etc/haproxy/haproxy.cfg && echo kept-edit
cmp /etc/haproxy/haproxy.cfg.rpmnew /tmp/pkgs/cfg2 && echo rpmnew-is-release-2
rpm $DB -i --nodeps /tmp/pkgs/r2.rpm 2>&1 | grep -q 'already installed' && echo reinstall-refused
rpm $DB -e haproxy
test -f /etc/haproxy/haproxy.cfg.rpmsave && echo rpmsave
test ! -e /usr/sbin/haproxy && echo binary-gone
id haproxy >/dev/null && echo user-stays
`
	out, err := throwaway(t, map[string]string{r1: "/tmp/pkgs/r1.rpm", r2: "/tmp/pkgs/r2.rpm", cfg1: "/tmp/pkgs/cfg1", cfg2: "/tmp/pkgs/cfg2"}, script)
	if err != nil {
		t.Fatalf("install/upgrade/erase: %v\n%s", err, out)
	}
	for _, w := range []string{
		"cfg-is-release-1", "no-rpmnew-on-install",
		"user: haproxy:haproxy",
		"owner: haproxy:haproxy 755 /var/lib/haproxy\n",
		"owner: haproxy:haproxy 755 /var/lib/haproxy/dev",
		"owner: root:root 755 /var/log/haproxy",
		"Configuration file is valid",
		"haproxy-2.6.12-2.el9.x86_64",
		"kept-edit", "rpmnew-is-release-2", "reinstall-refused", "rpmsave", "binary-gone", "user-stays",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}

// TestScriptletSemantics installs, upgrades and erases each dist's RPM with
// the real rpm in a throwaway root where the service tools (systemctl; el6's
// chkconfig and service) only log their arguments, with /run/systemd/system
// present as on a booted el7+ host: the log shows what each transaction would
// start, stop, enable or restart.
func TestScriptletSemantics(t *testing.T) {
	for _, tc := range []struct{ dist string }{{"el9"}, {"el6"}} {
		t.Run(tc.dist, func(t *testing.T) {
			o1 := testOptions(t, tc.dist)
			r1 := build1(t, o1)
			o2 := o1
			o2.Release, o2.OutDir = "2", t.TempDir()
			r2 := build1(t, o2)
			script := `
mkdir -p /run/systemd/system
for tool in /usr/bin/systemctl /usr/sbin/chkconfig /usr/sbin/service; do
	printf '#!/bin/sh\necho "%s $*" >> /tmp/calls\n' "$(basename $tool)" > $tool
	chmod 755 $tool
done
` + forgetDebianHAProxy + `
DB="--dbpath /tmp/rpmdb"
rpm $DB --initdb
echo "-- install" >> /tmp/calls
rpm $DB -i --nodeps /tmp/pkgs/r1.rpm 2>>/tmp/rpm.log
echo "-- upgrade" >> /tmp/calls
rpm $DB -U --nodeps /tmp/pkgs/r2.rpm 2>>/tmp/rpm.log
echo "-- erase" >> /tmp/calls
rpm $DB -e haproxy 2>>/tmp/rpm.log
cat /tmp/calls
`
			out, err := throwaway(t, map[string]string{r1: "/tmp/pkgs/r1.rpm", r2: "/tmp/pkgs/r2.rpm"}, script)
			if err != nil {
				t.Fatalf("rpm transactions: %v\n%s", err, out)
			}
			golden(t, "scriptlets-"+tc.dist+".calls", out)
		})
	}
}

// forgetDebianHAProxy removes, inside a throwaway root, the files of this
// machine's Debian haproxy that the RPM also ships: rpm does not know dpkg's
// files and would install ours as .rpmnew next to them.
const forgetDebianHAProxy = `rm -rf /etc/haproxy /etc/logrotate.d/haproxy /etc/rsyslog.d/49-haproxy.conf /usr/sbin/haproxy /var/lib/haproxy`

// TestRootInstallUpgrade is the same upgrade story with `rpm --root`, no
// namespaces needed: scriptlets are off (the empty root has no /bin/sh; they
// run in TestInstallUpgradeErase), and the database lives inside the root.
func TestRootInstallUpgrade(t *testing.T) {
	o1 := testOptions(t, "el9")
	r1 := build1(t, o1)
	o2 := o1
	o2.Release, o2.OutDir = "2", t.TempDir()
	o2.Config = append(append([]byte{}, o1.Config...), []byte("# release 2\n")...)
	r2 := build1(t, o2)
	root := t.TempDir()
	rpm := func(args ...string) string {
		return run(t, "rpm", append([]string{"--root", root, "--dbpath", "/var/lib/rpm"}, args...)...)
	}
	rpm("--initdb")
	rpm("-i", "--nodeps", "--noscripts", r1)
	cfg := filepath.Join(root, "etc/haproxy/haproxy.cfg")
	if got := readFile(t, cfg); string(got) != string(o1.Config) {
		t.Fatal("installed haproxy.cfg is not release 1's")
	}
	edited := append(readFile(t, cfg), []byte("# edited by the admin\n")...)
	if err := os.WriteFile(cfg, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	rpm("-U", "--nodeps", "--noscripts", r2)
	if q := rpm("-q", "haproxy"); strings.TrimSpace(q) != "haproxy-2.6.12-2.el9.x86_64" {
		t.Errorf("rpm -q: %s", q)
	}
	if got := readFile(t, cfg); string(got) != string(edited) {
		t.Error("upgrade replaced the admin's haproxy.cfg")
	}
	if got := readFile(t, cfg+".rpmnew"); string(got) != string(o2.Config) {
		t.Error("haproxy.cfg.rpmnew is not release 2's config")
	}
	if got := readFile(t, filepath.Join(root, "usr/sbin/haproxy")); len(got) == 0 {
		t.Error("binary missing")
	}
	// A config file the admin did not edit, unchanged between releases, gets no .rpmnew.
	if _, err := os.Stat(filepath.Join(root, "etc/logrotate.d/haproxy.rpmnew")); err == nil {
		t.Error("an unchanged logrotate file got an .rpmnew")
	}
}
