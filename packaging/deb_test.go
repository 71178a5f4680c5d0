package packaging

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDeb checks the .deb's layout and control data with dpkg-deb, then
// installs it with the real dpkg in a throwaway root (Debian's own haproxy
// purged there first), runs `haproxy -c` on its packaged config, removes and
// purges it. The machine's own haproxy is never touched.
func TestDeb(t *testing.T) {
	o := testOptions(t, "deb12", "deb")
	pkg := build1(t, o)
	if got := filepath.Base(pkg); got != "haproxy_2.6.12-1_amd64.deb" {
		t.Errorf("file name %s", got)
	}
	var list []string
	for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "-c", pkg)), "\n") {
		f := strings.Fields(line)
		list = append(list, f[0]+" "+f[1]+" "+f[5])
	}
	golden(t, "deb.files", strings.Join(list, "\n")+"\n")
	ctl := run(t, "dpkg-deb", "-f", pkg, "Package", "Version", "Architecture", "Maintainer", "Depends")
	for _, w := range []string{"Package: haproxy", "Version: 2.6.12-1", "Architecture: amd64", "libssl3 (>= ", "libc6 (>= ", "passwd"} {
		if !strings.Contains(ctl, w) {
			t.Errorf("control lacks %q:\n%s", w, ctl)
		}
	}
	if conf := run(t, "dpkg-deb", "-I", pkg, "conffiles"); !strings.Contains(conf, "/etc/haproxy/haproxy.cfg") {
		t.Errorf("haproxy.cfg is not a conffile: %s", conf)
	}
	script := `
# man-db reindexing on every dpkg run costs tens of seconds here.
rm -f /var/lib/man-db/auto-update
dpkg --purge haproxy >/dev/null 2>&1 || true
userdel haproxy 2>/dev/null || true
groupdel haproxy 2>/dev/null || true
dpkg -i /tmp/pkgs/haproxy.deb
dpkg-query -W -f='installed: ${Package} ${Version} ${Status}\n' haproxy
stat -c 'owner: %U:%G %a %n' /var/lib/haproxy /lib/systemd/system/haproxy.service
/usr/sbin/haproxy -c -f /etc/haproxy/haproxy.cfg
dpkg -r haproxy
test -f /etc/haproxy/haproxy.cfg && echo conffile-kept-on-remove
test ! -e /usr/sbin/haproxy && echo binary-gone
dpkg --purge haproxy
test ! -e /etc/haproxy/haproxy.cfg && echo conffile-gone-on-purge
`
	out, err := throwaway(t, map[string]string{pkg: "/tmp/pkgs/haproxy.deb"}, script)
	if err != nil {
		t.Fatalf("dpkg in a throwaway root: %v\n%s", err, out)
	}
	for _, w := range []string{
		"installed: haproxy 2.6.12-1 install ok installed",
		"owner: haproxy:haproxy 755 /var/lib/haproxy",
		"owner: root:root 644 /lib/systemd/system/haproxy.service",
		"Configuration file is valid",
		"conffile-kept-on-remove", "binary-gone", "conffile-gone-on-purge",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}

// TestDebScriptSemantics: dpkg install, upgrade, remove and purge in a
// throwaway root where systemctl only logs its arguments and
// /run/systemd/system exists as on a booted host.
func TestDebScriptSemantics(t *testing.T) {
	o1 := testOptions(t, "deb12", "deb")
	d1 := build1(t, o1)
	o2 := o1
	o2.Release, o2.OutDir = "2", t.TempDir()
	d2 := build1(t, o2)
	script := `
rm -f /var/lib/man-db/auto-update
dpkg --purge haproxy >/dev/null 2>&1 || true
mkdir -p /run/systemd/system
printf '#!/bin/sh\necho "systemctl $*" >> /tmp/calls\n' > /usr/bin/systemctl
chmod 755 /usr/bin/systemctl
: > /tmp/calls
echo "-- install" >> /tmp/calls
dpkg -i /tmp/pkgs/d1.deb >/tmp/dpkg.log 2>&1
echo "-- upgrade" >> /tmp/calls
dpkg -i /tmp/pkgs/d2.deb >>/tmp/dpkg.log 2>&1
echo "-- remove" >> /tmp/calls
dpkg -r haproxy >>/tmp/dpkg.log 2>&1
echo "-- purge" >> /tmp/calls
dpkg --purge haproxy >>/tmp/dpkg.log 2>&1
cat /tmp/calls
`
	out, err := throwaway(t, map[string]string{d1: "/tmp/pkgs/d1.deb", d2: "/tmp/pkgs/d2.deb"}, script)
	if err != nil {
		t.Fatalf("dpkg transactions: %v\n%s", err, out)
	}
	// Keep our scripts' calls; other packages' triggers (rsyslog's) also call systemctl.
	var ours []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "-- ") || strings.Contains(line, "haproxy.service") ||
			line == "systemctl daemon-reload" || line == "systemctl reload-or-try-restart rsyslog.service" {
			ours = append(ours, line)
		}
	}
	golden(t, "scriptlets-deb.calls", strings.Join(ours, "\n")+"\n")
}

// TestEl6InitScriptInstalled: the el6 RPM installed (scriptlets run, with
// chkconfig and service logging only) leaves an init script that checks the
// packaged config with the packaged binary and reports status.
func TestEl6InitScriptInstalled(t *testing.T) {
	pkg := build1(t, testOptions(t, "el6"))
	script := forgetDebianHAProxy + `
for tool in /usr/sbin/chkconfig /usr/sbin/service; do
	printf '#!/bin/sh\nexit 0\n' > $tool
	chmod 755 $tool
done
rpm --dbpath /tmp/rpmdb --initdb
rpm --dbpath /tmp/rpmdb -i --nodeps /tmp/pkgs/el6.rpm 2>/dev/null
/etc/rc.d/init.d/haproxy check
/etc/rc.d/init.d/haproxy status || echo "status exit $?"
`
	out, err := throwaway(t, map[string]string{pkg: "/tmp/pkgs/el6.rpm"}, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"Configuration file is valid", "haproxy is stopped", "status exit 3"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}
