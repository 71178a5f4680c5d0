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
	"text/template"

	"harpy/hint"
)

//go:embed templates/*.tmpl
var files embed.FS

var tmpl = template.Must(template.ParseFS(files, "templates/*.tmpl"))

// Dists are the distributions the files can be written for.
var Dists = []string{"el6", "el7", "el8", "el9", "debian"}

// Defaults for Options fields left empty.
const (
	DefaultFile   = "/var/log/haproxy/haproxy.log"
	DefaultRotate = 14
)

// Options say where HAProxy sends its logs and where they end up.
type Options struct {
	Dist     string // el6, el7, el8, el9, debian
	Profile  string // named in the header comment
	Facility string // local0 … local7 (any syslog facility)
	// Exactly one input: UDP address and port, or a unix socket path (the chroot's dev/log).
	UDPAddress string
	UDPPort    int
	Socket     string
	File       string // DefaultFile when empty
	Rotate     int    // days kept; DefaultRotate when 0
}

var (
	facilityRE = regexp.MustCompile(`^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|ntp|audit|alert|clock|local[0-7])$`)
	pathRE     = regexp.MustCompile(`^/[A-Za-z0-9_./-]+$`)
	profileRE  = regexp.MustCompile(`^[A-Za-z0-9_./:-]*$`)
)

type data struct {
	Options
	Reload string
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
	switch d.Dist {
	case "el6", "el7":
		d.Reload = "/bin/kill -HUP `cat /var/run/syslogd.pid 2> /dev/null` 2> /dev/null || true"
	case "el8", "el9":
		d.Reload = "/usr/bin/systemctl kill -s HUP rsyslog.service >/dev/null 2>&1 || true"
	case "debian":
		d.Reload = "[ ! -x /usr/lib/rsyslog/rsyslog-rotate ] || /usr/lib/rsyslog/rsyslog-rotate"
	default:
		return bad("unknown dist %q (want one of %v)", d.Dist, Dists)
	}
	if !facilityRE.MatchString(d.Facility) {
		return bad("bad facility %q", d.Facility)
	}
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
	if d.Dist == "el6" {
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
