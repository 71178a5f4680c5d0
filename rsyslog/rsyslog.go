// Package rsyslog renders the rsyslog drop-in and the logrotate file that go with an
// HAProxy config: legacy directives for rsyslog 5 (el6), RainerScript for rsyslog 8
// (el7 and later, Debian).
package rsyslog

import (
	"bytes"
	"embed"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"text/template"

	"harpy/distro"
	"harpy/hint"
)

//go:embed templates/*.tmpl
var files embed.FS

var tmpl = template.Must(template.ParseFS(files, "templates/*.tmpl"))

// Facilities are the syslog facilities HAProxy names (its log keyword), in code order.
// rsyslog calls two of them differently; see rsyslogName.
var Facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// rsyslogName is the facility's name in rsyslog's $syslogfacility-text property.
func rsyslogName(haproxy string) string {
	switch haproxy {
	case "auth2":
		return "authpriv" // facility 10
	case "cron2":
		return "clock" // facility 15
	}
	return haproxy
}

// legacyNames are the facilities rsyslog 5's selectors (el6) know by the same name.
var legacyNames = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"auth2", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// Defaults for Options fields left empty.
const (
	DefaultFile   = "/var/log/haproxy/haproxy.log"
	DefaultRotate = 14
)

// Options say where HAProxy sends its logs and where they end up.
type Options struct {
	Dist     string // a name distro.Lookup knows: el6 … el10, deb11 … deb13, ubuntu…, debian
	Profile  string // named in the header comment
	Facility string // one of Facilities, as HAProxy names it
	// Exactly one input: UDP address and port, or a unix socket path (the chroot's dev/log).
	UDPAddress string
	UDPPort    int
	Socket     string
	File       string // DefaultFile when empty
	Rotate     int    // days kept; DefaultRotate when 0
}

var (
	pathRE    = regexp.MustCompile(`^/[A-Za-z0-9_./-]+$`)
	profileRE = regexp.MustCompile(`^[A-Za-z0-9_./:-]*$`)
)

type data struct {
	Options
	Reload   string
	Legacy   bool   // rsyslog 5 syntax
	Selector string // the facility as rsyslog names it
}

func (o Options) check() (data, error) {
	d := data{Options: o}
	if d.File == "" {
		d.File = DefaultFile
	}
	if d.Rotate == 0 {
		d.Rotate = DefaultRotate
	}
	if !profileRE.MatchString(d.Profile) {
		d.Profile = ""
	}
	bad := func(format string, args ...any) (data, error) {
		return data{}, hint.With(fmt.Errorf("rsyslog: "+format, args...), "see docs/profiles.md, [global.log] and [logging]")
	}
	dist, err := distro.Lookup(d.Dist)
	if err != nil {
		return data{}, err
	}
	d.Reload, d.Legacy = dist.RsyslogReload, dist.Rsyslog == distro.RsyslogLegacy
	switch {
	case !slices.Contains(Facilities, d.Facility):
		return bad("bad facility %q (want one of %v)", d.Facility, Facilities)
	case d.Legacy && !slices.Contains(legacyNames, d.Facility):
		return bad("facility %q has no name in %s's rsyslog 5 selectors", d.Facility, dist.Name)
	}
	d.Selector = rsyslogName(d.Facility)
	if !pathRE.MatchString(d.File) {
		return bad("log file %q is not an absolute path of letters, digits, '_', '.', '-'", d.File)
	}
	if d.Rotate < 1 || d.Rotate > 3650 {
		return bad("rotate %d is out of range 1-3650", d.Rotate)
	}
	switch {
	case d.Socket != "" && d.UDPAddress != "":
		return bad("give a UDP address or a unix socket, not both")
	case d.Socket != "":
		if !pathRE.MatchString(d.Socket) {
			return bad("socket %q is not an absolute path", d.Socket)
		}
	default:
		if _, err := netip.ParseAddr(d.UDPAddress); err != nil {
			return bad("UDP address %q is not an IP address", d.UDPAddress)
		}
		if d.UDPPort < 1 || d.UDPPort > 65535 {
			return bad("UDP port %d is out of range", d.UDPPort)
		}
	}
	return d, nil
}

// DropIn renders /etc/rsyslog.d/49-haproxy.conf.
func DropIn(o Options) ([]byte, error) {
	d, err := o.check()
	if err != nil {
		return nil, err
	}
	name := "rainer.conf.tmpl"
	if d.Legacy {
		name = "legacy.conf.tmpl"
	}
	return execute(name, d)
}

// Logrotate renders /etc/logrotate.d/haproxy.
func Logrotate(o Options) ([]byte, error) {
	d, err := o.check()
	if err != nil {
		return nil, err
	}
	return execute("logrotate.tmpl", d)
}

func execute(name string, d data) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, d); err != nil {
		return nil, fmt.Errorf("rsyslog: template %s: %w", name, err)
	}
	return b.Bytes(), nil
}
