// Package packaging turns a staged HAProxy tree into RPM and .deb packages
// natively (nfpm v2.48.0 as a library, whose RPM writer is
// go.digitalxero.dev/rpm; no rpmbuild), exports an equivalent .spec for
// rpmbuild/mock users, and makes a yum repository.
//
// The contract with the build pipeline is Options and Build: the pipeline
// stages `make install` output (usr/sbin/haproxy, usr/share/man/man1/haproxy.1,
// usr/share/doc/haproxy/*, usr/share/licenses/haproxy/LICENSE), renders the
// config files, and calls Build as its last step.
package packaging

import (
	"errors"
	"fmt"
	"harpy/distro"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"harpy/hint"
)

// Options describes one packaging run. Zero values take the defaults noted.
type Options struct {
	Name    string // package name; default "haproxy"
	Version string // upstream version as is, e.g. "2.6.12" (required)
	Release string // package release; default "1"
	// Dist selects the layout and the RPM dist tag: el6 (SysV init + chkconfig),
	// el7, el8, el9 (systemd). Required for "rpm". A .deb always gets the Debian
	// layout; Dist only names the host it was built for there (deb12, …).
	Dist string
	// Arch in rpm terms (x86_64, aarch64); default: read from the binary's ELF header.
	Arch     string
	StageDir string   // staged root (required): usr/sbin/haproxy and friends
	OutDir   string   // where packages land (created if missing; required)
	Formats  []string // "rpm", "deb"; default ["rpm"]
	// Systemd: the binary was built with USE_SYSTEMD, so the unit runs -Ws with Type=notify.
	Systemd bool

	// Rendered files, packaged as %config(noreplace): /etc/haproxy/haproxy.cfg,
	// /etc/rsyslog.d/49-haproxy.conf, /etc/logrotate.d/haproxy. Config is required;
	// an empty Rsyslog or Logrotate is left out. They go into every format as
	// given: render them for the target (profiles.Options.Dist) and call Build
	// once per target when the rsyslog/logrotate syntax differs.
	Config, Rsyslog, Logrotate []byte

	Summary     string // default "TCP/HTTP reverse proxy and load balancer for high availability"
	Description string // default: a paragraph about HAProxy
	License     string // default "GPLv2+ and LGPLv2+" (HAProxy's LICENSE, in el's naming)
	URL         string // default "https://www.haproxy.org/"
	Vendor      string // default "harpy"
	Packager    string // RPM Packager and changelog author; default Maintainer or "harpy <root@localhost>"
	Maintainer  string // .deb Maintainer; default Packager or "harpy <root@localhost>"
	Group       string // RPM Group; default "System Environment/Daemons"

	// SignKey is an armored PGP private key file; RPMs get a header+payload
	// signature verifiable by `rpm -K` once the public key is imported.
	SignKey, SignPassphrase string

	// Compression of the RPM payload: gzip, xz or zstd, optionally with :level.
	// Default by dist, chosen from bench/package.sh: DefaultCompression.
	Compression string

	// SourceDateEpoch is the time written as build time, file mtimes and the
	// changelog date; default: $SOURCE_DATE_EPOCH when set (the CLI passes it),
	// else the staged binary's mtime, so equal inputs give equal bytes.
	SourceDateEpoch int64

	// Changelog entries, newest first; default one entry for this build.
	Changelog []ChangelogEntry

	// BuildHost is written instead of the machine's hostname; default "harpy".
	BuildHost string

	// Notes receives human-readable notes (e.g. dist differs from the host); nil: discarded.
	Notes io.Writer

	// packagerFlag and maintainerFlag name the flag a defaulted Packager or
	// Maintainer came from, for error messages (set by fill).
	packagerFlag, maintainerFlag string
}

// ChangelogEntry is one %changelog / debian changelog entry.
type ChangelogEntry struct {
	Time   time.Time
	Author string // "Name <email>"; default Packager
	Text   string // one change per line
}

// Dist families and their layouts.
type distInfo struct {
	family string // "el6", "systemd", "deb"
	unit   string // path of the service file (unit or init script)
	env    string // environment file path
	// requires that rpmbuild would not derive: scriptlet tools.
	requires []string
}

// distLayout returns the layout of a dist for a format, from the distro package. A .deb
// has one layout whatever the Debian or Ubuntu release.
func distLayout(dist, format string) (distInfo, error) {
	if format == "deb" {
		return distInfo{family: "deb", unit: "/lib/systemd/system/haproxy.service", env: "/etc/default/haproxy"}, nil
	}
	d, err := distro.Lookup(dist)
	if err != nil {
		return distInfo{}, hint.Input(hint.With(fmt.Errorf("--dist: %w", err), "use one of %s for an RPM", strings.Join(rpmDists(), ", ")))
	}
	if d.Format != "rpm" {
		return distInfo{}, hint.Input(hint.With(fmt.Errorf("--dist: an RPM needs an el dist, not %q", dist),
			"pass --dist %s for an RPM, or --format deb for %s", strings.Join(rpmDists(), "|"), d.Name))
	}
	if d.Init == distro.SysV {
		return distInfo{family: "el6", unit: "/etc/rc.d/init.d/haproxy", env: d.EnvFile,
			requires: []string{"shadow-utils", "chkconfig", "initscripts"}}, nil
	}
	return distInfo{family: "systemd", unit: d.UnitDir + "/haproxy.service", env: d.EnvFile,
		requires: []string{"shadow-utils", "systemd"}}, nil
}

// rpmDists are the dists an RPM can be made for.
func rpmDists() []string {
	var out []string
	for _, n := range distro.Names() {
		if d, _ := distro.Lookup(n); d.Format == "rpm" {
			out = append(out, n)
		}
	}
	return out
}

// DefaultCompression is the RPM payload compression for a dist (the distro package's
// choice, from bench/package.sh's figures: zstd packs fastest at a size close to xz's,
// but rpm reads zstd payloads only from 4.14, el8).
func DefaultCompression(dist string) string {
	if d, err := distro.Lookup(dist); err == nil && d.Format == "rpm" {
		return d.Compression
	}
	return "zstd:19"
}

const (
	defaultName        = "haproxy"
	defaultSummary     = "TCP/HTTP reverse proxy and load balancer for high availability"
	defaultDescription = "HAProxy is a free, very fast and reliable solution offering high\n" +
		"availability, load balancing, and proxying for TCP and HTTP-based\n" +
		"applications. This package was built, configured and packaged by harpy."
	defaultLicense  = "GPLv2+ and LGPLv2+"
	defaultURL      = "https://www.haproxy.org/"
	defaultVendor   = "harpy"
	defaultPackager = "harpy <root@localhost>"
	defaultGroup    = "System Environment/Daemons"
	defaultHost     = "harpy"
)

// fill sets the defaults that need no staged tree.
func (o Options) fill() Options {
	o.Name = cmpOr(o.Name, defaultName)
	o.Release = cmpOr(o.Release, "1")
	if len(o.Formats) == 0 {
		o.Formats = []string{"rpm"}
	}
	o.Summary = cmpOr(o.Summary, defaultSummary)
	if strings.TrimSpace(o.Description) == "" {
		o.Description = defaultDescription
	}
	o.License = cmpOr(o.License, defaultLicense)
	o.URL = cmpOr(o.URL, defaultURL)
	o.Vendor = cmpOr(o.Vendor, defaultVendor)
	if o.packagerFlag == "" {
		o.packagerFlag, o.maintainerFlag = "--packager", "--maintainer"
		if o.Packager == "" && o.Maintainer != "" {
			o.packagerFlag = "--maintainer"
		}
		if o.Maintainer == "" && o.Packager != "" {
			o.maintainerFlag = "--packager"
		}
	}
	o.Packager = cmpOr(o.Packager, o.Maintainer, defaultPackager)
	o.Maintainer = cmpOr(o.Maintainer, o.Packager)
	o.Group = cmpOr(o.Group, defaultGroup)
	o.BuildHost = cmpOr(o.BuildHost, defaultHost)
	if o.Compression == "" {
		o.Compression = DefaultCompression(o.Dist)
	}
	if len(o.Changelog) == 0 && o.Version != "" {
		o.Changelog = []ChangelogEntry{{Text: "Built by harpy from the HAProxy " + o.Version + " release"}}
	}
	o.Changelog = slices.Clone(o.Changelog)
	for i := range o.Changelog {
		o.Changelog[i].Author = cmpOr(o.Changelog[i].Author, o.Packager)
	}
	if o.Notes == nil {
		o.Notes = io.Discard
	}
	return o
}

// withDefaults validates o and fills in defaults; it reads the stage, so a
// missing tree fails here, before anything is written.
func (o Options) withDefaults() (Options, error) {
	o = o.fill()
	if err := o.check(); err != nil {
		return o, err
	}
	if o.Version == "" {
		return o, hint.With(errors.New("no version given"), "pass the upstream version, e.g. 2.6.12")
	}
	if o.StageDir == "" {
		return o, hint.With(errors.New("no staged tree given"), "build first, or pass the staging directory")
	}
	bin := filepath.Join(o.StageDir, "usr/sbin/haproxy")
	st, err := os.Stat(bin)
	if err != nil {
		return o, hint.With(fmt.Errorf("staged tree %s: %w", o.StageDir, err), "the staged tree must hold usr/sbin/haproxy (make install DESTDIR=… PREFIX=/usr)")
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return o, hint.With(fmt.Errorf("%s is not an executable file", bin), "stage the binary with make install")
	}
	if o.Arch == "" {
		if o.Arch, err = elfArch(bin); err != nil {
			return o, err
		}
	}
	if o.SourceDateEpoch == 0 {
		o.SourceDateEpoch = st.ModTime().Unix()
	}
	for i := range o.Changelog {
		if o.Changelog[i].Time.IsZero() {
			o.Changelog[i].Time = o.mtime()
		}
	}
	return o, nil
}

func (o Options) mtime() time.Time { return time.Unix(o.SourceDateEpoch, 0).UTC() }

// rpmRelease is the release with the dist tag: 1.el9.
func (o Options) rpmRelease() string { return o.Release + "." + o.Dist }

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// describe is a short name of the run for error messages.
func (o Options) describe() string { return fmt.Sprintf("%s-%s-%s", o.Name, o.Version, o.Release) }

func timeUnix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
