// Package distro names the systems harpy builds packages and writes files for, once:
// each target's canonical name, its package format and default compression, its init
// system and rsyslog dialect, its paths, and — where known — which shared libraries and
// glibc symbol versions its base system provides. packaging, rsyslog, initscripts,
// profiles and the CLI all ask here, so a --dist that one command accepts, all accept.
package distro

import (
	"fmt"
	"slices"
	"strings"

	"harpy/hint"
)

// Init is a target's service manager.
type Init string

const (
	SysV    Init = "sysv"    // /etc/rc.d/init.d script + chkconfig
	Systemd Init = "systemd" // a unit under UnitDir
)

// Rsyslog is the configuration dialect of the rsyslog a target ships.
type Rsyslog string

const (
	RsyslogLegacy Rsyslog = "legacy" // rsyslog 5 (el6): $ModLoad / $UDPServerRun only
	RsyslogRainer Rsyslog = "rainer" // rsyslog 8: RainerScript
)

// Dist is one target system.
type Dist struct {
	Name        string // canonical name: el9, deb12, ubuntu24.04
	Family      string // "el", "debian", "ubuntu"
	Major       string // "9", "12", "24.04"
	Format      string // native package format: "rpm" or "deb"
	Compression string // default payload compression of the native format
	Init        Init
	Rsyslog     Rsyslog
	// RsyslogReload is what logrotate's postrotate runs so rsyslog reopens its files.
	RsyslogReload string
	EnvFile       string // environment file the service reads: /etc/sysconfig/haproxy, /etc/default/haproxy
	EnvVar        string // the variable in it that carries extra haproxy flags: OPTIONS, EXTRAOPTS
	UnitDir       string // where the package puts its systemd unit ("" for SysV)
	// Base is what the base system provides to a binary; nil when harpy has no data,
	// and then packaging for this dist from another host is refused.
	Base *Base
}

// Base is the part of a dist's base system a dynamically linked haproxy needs.
type Base struct {
	Glibc string // highest GLIBC_ symbol version provided, e.g. "2.34"
	// Sonames of the libraries the base system (or its standard repositories) provides.
	Sonames []string
	// Checked says the data was checked against the dist itself; otherwise it is recalled
	// from its published package sets and kept here to be corrected in one place.
	Checked bool
}

// Provides tells whether the base system has a library of that soname.
func (b *Base) Provides(soname string) bool { return b != nil && slices.Contains(b.Sonames, soname) }

// GlibcOK tells whether a GLIBC_x.y symbol version is at most the base system's.
func (b *Base) GlibcOK(version string) bool {
	return b != nil && compareDotted(strings.TrimPrefix(version, "GLIBC_"), b.Glibc) <= 0
}

const (
	elHUP = "/usr/bin/systemctl kill -s HUP rsyslog.service >/dev/null 2>&1 || true"
	// EL6 and EL7's own /etc/logrotate.d/syslog signal rsyslog by its pidfile.
	el6HUP    = "/bin/kill -HUP `cat /var/run/syslogd.pid 2> /dev/null` 2> /dev/null || true"
	debRotate = "[ ! -x /usr/lib/rsyslog/rsyslog-rotate ] || /usr/lib/rsyslog/rsyslog-rotate"
)

func el(major string, rs Rsyslog, init Init, comp, hup string, base *Base) Dist {
	d := Dist{Name: "el" + major, Family: "el", Major: major, Format: "rpm", Compression: comp,
		Init: init, Rsyslog: rs, RsyslogReload: hup, EnvFile: "/etc/sysconfig/haproxy", EnvVar: "OPTIONS", Base: base}
	if init == Systemd {
		d.UnitDir = "/usr/lib/systemd/system"
	}
	return d
}

func deb(family, major string, base *Base) Dist {
	name := "deb" + major
	if family == "ubuntu" {
		name = "ubuntu" + major
	}
	return Dist{Name: name, Family: family, Major: major, Format: "deb", Compression: "xz",
		Init: Systemd, Rsyslog: RsyslogRainer, RsyslogReload: debRotate,
		EnvFile: "/etc/default/haproxy", EnvVar: "EXTRAOPTS", UnitDir: "/lib/systemd/system", Base: base}
}

// all lists every target, oldest first within a family. The EL data is the table in the
// project's reference notes (el9 checked against its published sonames); deb12 is the
// build host here and was checked on it. Dists without data get no Base.
var all = []Dist{
	// rpm reads zstd payloads only from 4.14 (el8), so el6/el7 default to xz.
	el("6", RsyslogLegacy, SysV, "xz", el6HUP, &Base{Glibc: "2.12",
		Sonames: []string{"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libcrypt.so.1", "libssl.so.10", "libcrypto.so.10", "libpcre.so.0", "libz.so.1", "liblua-5.1.so"}}),
	el("7", RsyslogRainer, Systemd, "xz", el6HUP, &Base{Glibc: "2.17",
		Sonames: []string{"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libcrypt.so.1", "libssl.so.10", "libcrypto.so.10", "libpcre.so.1", "libpcre2-8.so.0", "libz.so.1", "liblua-5.1.so", "libsystemd.so.0"}}),
	el("8", RsyslogRainer, Systemd, "zstd:19", elHUP, &Base{Glibc: "2.28",
		Sonames: []string{"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libcrypt.so.1", "libssl.so.1.1", "libcrypto.so.1.1", "libpcre2-8.so.0", "libz.so.1", "liblua-5.3.so", "libsystemd.so.0"}}),
	el("9", RsyslogRainer, Systemd, "zstd:19", elHUP, &Base{Glibc: "2.34", Checked: true,
		Sonames: []string{"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libcrypt.so.2", "libssl.so.3", "libcrypto.so.3", "libpcre2-8.so.0", "libz.so.1", "liblua-5.4.so", "libsystemd.so.0"}}),
	el("10", RsyslogRainer, Systemd, "zstd:19", elHUP, &Base{Glibc: "2.39",
		Sonames: []string{"libc.so.6", "libm.so.6", "libcrypt.so.2", "libssl.so.3", "libcrypto.so.3", "libpcre2-8.so.0", "libz.so.1", "liblua-5.4.so", "libsystemd.so.0"}}),
	deb("debian", "11", nil),
	deb("debian", "12", &Base{Glibc: "2.36", Checked: true,
		Sonames: []string{"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libcrypt.so.1", "libssl.so.3", "libcrypto.so.3", "libpcre2-8.so.0", "libz.so.1", "liblua5.4.so.0", "libsystemd.so.0"}}),
	deb("debian", "13", nil),
	deb("ubuntu", "22.04", nil),
	deb("ubuntu", "24.04", nil),
}

// Aliases map other accepted spellings to canonical names. "debian" is the Debian that
// harpy's rendered files and .deb packages were first written for, Debian 12.
var Aliases = map[string]string{"debian": "deb12", "bookworm": "deb12", "bullseye": "deb11", "trixie": "deb13"}

// Names lists the canonical names, in order.
func Names() []string {
	n := make([]string, len(all))
	for i, d := range all {
		n[i] = d.Name
	}
	return n
}

// Lookup returns the dist of a canonical name or alias. An unknown name is bad input.
func Lookup(name string) (Dist, error) {
	if c, ok := Aliases[name]; ok {
		name = c
	}
	for _, d := range all {
		if d.Name == name {
			return d, nil
		}
	}
	return Dist{}, hint.Input(hint.With(fmt.Errorf("unknown dist %q", printable(name)),
		"use one of %s (or debian, an alias of deb12)", strings.Join(Names(), ", ")))
}

// Canonical returns the canonical name of a dist name or alias, or an error for an unknown one.
func Canonical(name string) (string, error) {
	d, err := Lookup(name)
	return d.Name, err
}

// printable quotes a user's value so that control characters cannot reach the terminal.
func printable(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// compareDotted compares dotted decimal versions: "2.9" < "2.17".
func compareDotted(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			fmt.Sscan(as[i], &x)
		}
		if i < len(bs) {
			fmt.Sscan(bs[i], &y)
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
