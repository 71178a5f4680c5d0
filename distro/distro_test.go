package distro

import (
	"os"
	"strings"
	"testing"

	"harpy/hint"
)

func TestLookup(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("%s listed twice", n)
		}
		seen[n] = true
		d, err := Lookup(n)
		if err != nil || d.Name != n {
			t.Fatalf("Lookup(%q) = %q, %v", n, d.Name, err)
		}
		switch d.Format {
		case "rpm":
			if d.EnvFile != "/etc/sysconfig/haproxy" || d.EnvVar != "OPTIONS" || d.Family != "el" {
				t.Errorf("%s: rpm dist with %s %s %s", n, d.Family, d.EnvFile, d.EnvVar)
			}
		case "deb":
			if d.EnvFile != "/etc/default/haproxy" || d.EnvVar != "EXTRAOPTS" || d.Init != Systemd {
				t.Errorf("%s: deb dist with %s %s %s", n, d.EnvFile, d.EnvVar, d.Init)
			}
		default:
			t.Errorf("%s: format %q", n, d.Format)
		}
		if (d.Init == Systemd) != (d.UnitDir != "") {
			t.Errorf("%s: init %s with unit dir %q", n, d.Init, d.UnitDir)
		}
		if d.Compression == "" || d.RsyslogReload == "" {
			t.Errorf("%s: missing compression or rsyslog reload", n)
		}
		if d.Base != nil && !d.Base.Provides("libc.so.6") {
			t.Errorf("%s: base without libc", n)
		}
	}
	for alias, c := range Aliases {
		if got, err := Canonical(alias); err != nil || got != c || !seen[c] {
			t.Errorf("alias %s -> %q, %v (want %s, a listed name)", alias, got, err, c)
		}
	}
	for _, bad := range []string{"", "el5", "EL9", "deb12\n", "el9 ", "ubuntu20.04", "\x1b[31mred"} {
		_, err := Lookup(bad)
		if err == nil {
			t.Errorf("Lookup(%q) accepted", bad)
			continue
		}
		if !hint.IsInput(err) || strings.ContainsAny(err.Error(), "\n\x1b") || hint.Of(err) == "" {
			t.Errorf("Lookup(%q): %v (input %v, hint %q)", bad, err, hint.IsInput(err), hint.Of(err))
		}
	}
}

func TestBase(t *testing.T) {
	el9, _ := Lookup("el9")
	deb12, _ := Lookup("deb12")
	deb13, _ := Lookup("deb13")
	for _, tc := range []struct {
		d       Dist
		soname  string
		has     bool
		glibc   string
		glibcOK bool
	}{
		{el9, "liblua-5.4.so", true, "GLIBC_2.34", true},
		{el9, "liblua5.4.so.0", false, "GLIBC_2.35", false},
		{el9, "libcrypt.so.1", false, "GLIBC_2.3.4", true},
		{deb12, "liblua5.4.so.0", true, "GLIBC_2.36", true},
		{deb12, "libcrypt.so.2", false, "GLIBC_2.38", false},
		{deb13, "libc.so.6", false, "GLIBC_2.2.5", false}, // no data: nothing is provided
	} {
		if got := tc.d.Base.Provides(tc.soname); got != tc.has {
			t.Errorf("%s provides %s = %v", tc.d.Name, tc.soname, got)
		}
		if got := tc.d.Base.GlibcOK(tc.glibc); got != tc.glibcOK {
			t.Errorf("%s glibc %s ok = %v", tc.d.Name, tc.glibc, got)
		}
	}
}

func TestCompareDotted(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"2.9", "2.17", -1}, {"2.17", "2.17", 0}, {"2.34", "2.3.4", 1}, {"2.3.4", "2.3", 1}, {"3", "2.99", 1}} {
		if got := compareDotted(tc.a, tc.b); got != tc.want {
			t.Errorf("compareDotted(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFromOSRelease(t *testing.T) {
	for _, tc := range []struct {
		name, text, want, err string
	}{
		{"debian 12", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "deb12", ""},
		{"rhel 9", "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n", "el9", ""},
		{"rocky 8", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.10\"\n", "el8", ""},
		{"almalinux 9", "ID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.5\"\n", "el9", ""},
		{"centos 7", "NAME=\"CentOS Linux\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n", "el7", ""},
		{"oracle 8", "ID=\"ol\"\nID_LIKE=\"fedora rhel\"\nVERSION_ID=\"8.9\"\n", "el8", ""},
		{"ubuntu", "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n", "ubuntu22.04", ""},
		{"fedora", "ID=fedora\nVERSION_ID=40\n", "", "Fedora 40 is not an el release"},
		{"alpine", "ID=alpine\nVERSION_ID=3.20.0\n", "", `unknown system ID="alpine"`},
		{"empty", "", "", "unknown system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromOSRelease([]byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// On this machine (Debian 12, as CI), Host reads the real /etc/os-release.
func TestHost(t *testing.T) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := FromOSRelease(b)
	if got, err := Host(); err != nil || got != want {
		t.Fatalf("Host() = %q, %v; want %q", got, err, want)
	}
}
