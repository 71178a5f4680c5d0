// Package initscripts holds what starts and stops HAProxy on a target host: the
// SysV init script for el6, the systemd unit for el7+ and Debian, the
// /etc/sysconfig/haproxy defaults, and the package scriptlets per dist family,
// all embedded as plain files so that shellcheck and systemd-analyze read the
// very bytes that get packaged.
package initscripts

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed haproxy.init haproxy.service.tmpl sysconfig scriptlets harpy-watch.service
var files embed.FS

// Family names a set of scriptlets and a service manager.
type Family string

const (
	SysV    Family = "el6"     // SysV init script + chkconfig scriptlets
	Systemd Family = "systemd" // el7, el8, el9: systemd unit + systemd scriptlets
	Deb     Family = "deb"     // Debian/Ubuntu maintainer scripts + systemd unit
)

// InitScript returns the el6 SysV init script (/etc/rc.d/init.d/haproxy).
func InitScript() []byte { return mustRead("haproxy.init") }

// WatchUnit returns harpy-watch.service, the unit of `harpy watch` in harpy's own package.
func WatchUnit() []byte { return mustRead("harpy-watch.service") }

// Sysconfig returns /etc/sysconfig/haproxy (also shipped as /etc/default/haproxy on Debian).
func Sysconfig() []byte { return mustRead("sysconfig") }

// UnitOptions shapes the systemd unit.
type UnitOptions struct {
	// Bin is the absolute path of the haproxy binary.
	Bin string
	// Notify: the binary was built with USE_SYSTEMD, so the unit runs `-Ws`
	// with Type=notify; otherwise `-W` with Type=simple (Type=exec needs systemd 240; el7 has 219, el8 239), still master-worker.
	Notify bool
	// EnvFile is the optional environment file (/etc/sysconfig/haproxy or /etc/default/haproxy).
	EnvFile string
}

// Unit renders haproxy.service.
func Unit(o UnitOptions) ([]byte, error) {
	if o.Bin == "" || o.Bin[0] != '/' {
		return nil, fmt.Errorf("render haproxy.service: binary path %q is not absolute", o.Bin)
	}
	if o.EnvFile == "" {
		o.EnvFile = "/etc/sysconfig/haproxy"
	}
	data := struct{ Bin, Mode, Type, EnvFile string }{o.Bin, "-W", "simple", o.EnvFile}
	if o.Notify {
		data.Mode, data.Type = "-Ws", "notify"
	}
	tpl, err := template.New("haproxy.service").Option("missingkey=error").Parse(string(mustRead("haproxy.service.tmpl")))
	if err != nil {
		return nil, fmt.Errorf("parse haproxy.service template: %w", err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render haproxy.service: %w", err)
	}
	return b.Bytes(), nil
}

// Scriptlets are the bodies of a package's install/remove scripts. On rpm they
// are %pre, %post, %preun and %postun (argument: the count of installed
// instances after the operation); on Debian preinst, postinst, prerm and postrm.
type Scriptlets struct {
	PreInstall, PostInstall, PreRemove, PostRemove []byte
}

// ScriptletsFor returns the scriptlets of a family.
func ScriptletsFor(f Family) (Scriptlets, error) {
	switch f {
	case SysV, Systemd:
		return Scriptlets{
			PreInstall:  mustRead("scriptlets/rpm/pre.sh"),
			PostInstall: mustRead("scriptlets/" + string(f) + "/post.sh"),
			PreRemove:   mustRead("scriptlets/" + string(f) + "/preun.sh"),
			PostRemove:  mustRead("scriptlets/" + string(f) + "/postun.sh"),
		}, nil
	case Deb:
		return Scriptlets{
			PreInstall:  mustRead("scriptlets/deb/preinst"),
			PostInstall: mustRead("scriptlets/deb/postinst"),
			PreRemove:   mustRead("scriptlets/deb/prerm"),
			PostRemove:  mustRead("scriptlets/deb/postrm"),
		}, nil
	}
	return Scriptlets{}, fmt.Errorf("scriptlets: unknown family %q (want el6, systemd or deb)", f)
}

// Files lists every embedded shell file, for linting.
func Files() []string {
	return []string{
		"haproxy.init", "sysconfig",
		"scriptlets/rpm/pre.sh",
		"scriptlets/el6/post.sh", "scriptlets/el6/preun.sh", "scriptlets/el6/postun.sh",
		"scriptlets/systemd/post.sh", "scriptlets/systemd/preun.sh", "scriptlets/systemd/postun.sh",
		"scriptlets/deb/preinst", "scriptlets/deb/postinst", "scriptlets/deb/prerm", "scriptlets/deb/postrm",
	}
}

// Read returns one embedded file by its name in Files.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }

// mustRead reads a file embedded at build time; a missing one is a build defect.
func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("initscripts: " + err.Error())
	}
	return b
}
