package profiles

import (
	"bytes"
	"fmt"
	"strings"

	"harpy/apply"
	"harpy/hint"
	"harpy/hversion"
	"harpy/rsyslog"
	"harpy/specs"
)

// DefaultHAProxy is the version rendered for when none is given: the release harpy
// builds by default.
const DefaultHAProxy = specs.Default

// DefaultDist is the distribution the rsyslog and logrotate files are written for
// when none is given.
const DefaultDist = "el9"

// Oldest is the first HAProxy branch harpy renders for (quoting, resolvers).
var Oldest = hversion.MustParse("1.6")

// Newest is the last HAProxy branch whose configuration harpy knows; a later one may
// have removed or changed what harpy writes, so it is refused rather than guessed.
var Newest = hversion.MustParse("3.2")

// Options choose the syntax of the output.
type Options struct {
	HAProxy hversion.V // target HAProxy version; zero means DefaultHAProxy
	Dist    string     // a dist distro.Lookup knows (rsyslog/logrotate syntax); "" means DefaultDist
	Explain bool       // fill Output.Origins
}

// Origin says which profile field a line of haproxy.cfg came from.
type Origin struct {
	Line    int    // line in haproxy.cfg
	Field   string // e.g. listen[0].servers[2]
	Pos     Pos    // where that field was written (the nearest enclosing one when harpy filled it in)
	Default bool   // no profile wrote it: harpy's default
	Rule    string // for a default (a line no field produces, or a field left out): why harpy writes it
}

// Output is what a profile renders to. Packages install them as /etc/haproxy/haproxy.cfg,
// /etc/rsyslog.d/49-haproxy.conf and /etc/logrotate.d/haproxy.
type Output struct {
	HAProxyCfg []byte
	Rsyslog    []byte
	Logrotate  []byte
	Origins    []Origin // with Options.Explain
}

// File names of the rendered files, where they are installed.
const (
	HAProxyCfgPath = "/etc/haproxy/haproxy.cfg"
	RsyslogPath    = "/etc/rsyslog.d/49-haproxy.conf"
	LogrotatePath  = "/etc/logrotate.d/haproxy"
)

// Files lists the output under its install paths, relative to a root directory:
// apply.WriteChecked(ctx, root, out.Files(), checker) installs it ("/" for the host).
// The checker finds the staged haproxy.cfg under strings.TrimPrefix(HAProxyCfgPath, "/").
func (o *Output) Files() []apply.File {
	return []apply.File{
		{Name: strings.TrimPrefix(HAProxyCfgPath, "/"), Data: o.HAProxyCfg, Mode: 0o644},
		{Name: strings.TrimPrefix(RsyslogPath, "/"), Data: o.Rsyslog, Mode: 0o644},
		{Name: strings.TrimPrefix(LogrotatePath, "/"), Data: o.Logrotate, Mode: 0o644},
	}
}

// Render writes p in the syntax of opts.HAProxy; what that version cannot express is an
// error, never a config that means something else.
func Render(p *Profile, opts Options) (*Output, error) {
	if opts.HAProxy == (hversion.V{}) {
		opts.HAProxy = hversion.MustParse(DefaultHAProxy)
	}
	if opts.Dist == "" {
		opts.Dist = DefaultDist
	}
	// A profile built or changed in code (a watcher filling in servers) gets the same
	// checks as one loaded from a file: nothing unvalidated reaches the config.
	if err := p.validate(); err != nil {
		return nil, err
	}
	if opts.HAProxy.Less(Oldest) {
		return nil, hint.Input(hint.With(fmt.Errorf("render %s: HAProxy %s is older than %s", printable(p.Name), opts.HAProxy, Oldest), "render for 1.6 or later"))
	}
	if b := hversion.MustParse(opts.HAProxy.Branch()); Newest.Less(b) {
		return nil, hint.Input(hint.With(fmt.Errorf("render %s: HAProxy %s is newer than %s, the last branch harpy knows", printable(p.Name), opts.HAProxy, Newest),
			"render for %s or older (--haproxy %s)", Newest, Newest))
	}
	var origins []Origin
	cfg, err := renderCfg(p, opts.HAProxy, opts.Explain, &origins)
	if err != nil {
		return nil, err
	}
	ro, err := p.rsyslogOptions(opts.Dist)
	if err != nil {
		return nil, err
	}
	rs, err := rsyslog.DropIn(ro)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", printable(p.Name), err)
	}
	lr, err := rsyslog.Logrotate(ro)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", printable(p.Name), err)
	}
	return &Output{HAProxyCfg: cfg, Rsyslog: rs, Logrotate: lr, Origins: origins}, nil
}

func (p *Profile) rsyslogOptions(dist string) (rsyslog.Options, error) {
	o := rsyslog.Options{Dist: dist, Profile: p.Name, File: p.Logging.File, Rotate: p.Logging.Rotate}
	l := p.Global.Log
	if l == nil {
		o.Facility = "local2"
		o.UDPAddress, o.UDPPort = "127.0.0.1", 514
		return o, nil
	}
	o.Facility = l.Facility
	if strings.HasPrefix(l.Target, "/") {
		// HAProxy opens the socket after chroot: rsyslog listens inside the chroot.
		o.Socket = strings.TrimSuffix(p.Global.Chroot, "/") + l.Target
		return o, nil
	}
	a, aerr := parseAddress(l.Target, ruleLogTarget)
	if aerr != nil {
		return o, hint.Input(hint.With(fmt.Errorf("render %s: global.log.target: %w", printable(p.Name), aerr), "%s", aerr.hint))
	}
	if a.Port == 0 {
		a.Port = 514
	}
	o.UDPAddress, o.UDPPort = a.IP.String(), a.Port
	return o, nil
}

// Annotate appends to each line of cfg the profile field it came from, as a comment:
// what `harpy render --explain` prints.
func Annotate(cfg []byte, origins []Origin) []byte {
	by := make(map[int]Origin, len(origins))
	for _, o := range origins {
		by[o.Line] = o
	}
	lines := strings.Split(strings.TrimSuffix(string(cfg), "\n"), "\n")
	width := 0
	for _, l := range lines {
		width = max(width, len(l))
	}
	var b bytes.Buffer
	for i, l := range lines {
		o, ok := by[i+1]
		if !ok || l == "" {
			b.WriteString(l + "\n")
			continue
		}
		from := safeComment(o.Pos.String())
		switch {
		case o.Rule != "" && o.Field != "":
			fmt.Fprintf(&b, "%-*s  # harpy default for %s: %s\n", width, l, o.Field, o.Rule)
			continue
		case o.Rule != "":
			fmt.Fprintf(&b, "%-*s  # harpy default: %s\n", width, l, o.Rule)
			continue
		case o.Default:
			from = "harpy default, in " + from
		}
		fmt.Fprintf(&b, "%-*s  # %s %s\n", width, l, from, o.Field)
	}
	return b.Bytes()
}
