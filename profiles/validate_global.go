package profiles

import (
	"fmt"
	"net/netip"
	"strings"
)

func (p *Profile) validateGlobal(v *validator) {
	g := &p.Global
	if g.Log != nil {
		if g.Log.Target == "" {
			v.fail("global.log.target", "missing: write 127.0.0.1:514 (UDP) or /dev/log (unix socket)")
		} else if strings.HasPrefix(g.Log.Target, "/") {
			if v.fsPathOK("global.log.target", g.Log.Target) {
				v.socketPath("global.log.target", strings.TrimSuffix(g.Chroot, "/")+g.Log.Target)
			}
		} else if a, ok := v.address("global.log.target", g.Log.Target, ruleLogTarget); ok && (!a.IP.Is4() || !a.IP.IsLoopback()) {
			v.fail("global.log.target", "%q: harpy configures rsyslog on this host, so log to an IPv4 loopback address like 127.0.0.1:514", g.Log.Target)
		}
		if g.Log.Facility == "" {
			v.fail("global.log.facility", "missing: local0 … local7")
		}
		v.oneOf("global.log.facility", g.Log.Facility, facilities)
		v.oneOf("global.log.level", g.Log.Level, levels)
	}
	if g.Chroot != "" && v.fsPathOK("global.chroot", g.Chroot) {
		root := strings.TrimSuffix(g.Chroot, "/")
		for _, d := range systemDirs {
			if root == "" || root == d || strings.HasPrefix(root, d+"/") {
				v.failHint("global.chroot", "use an empty directory of HAProxy's own, like /var/lib/haproxy",
					"%q is a system directory: HAProxy would run with it as its root", g.Chroot)
				break
			}
		}
	}
	if g.Pidfile != "" {
		// HAProxy (as root, before it drops privileges) truncates and writes it.
		v.confinedPath("global.pidfile", g.Pidfile, "pid files", "/run/", "/var/run/")
	}
	v.rangeInt("global.maxconn", g.Maxconn, 1, 10_000_000)
	if g.User != "" && !userRE.MatchString(g.User) {
		v.fail("global.user", "%q is not a valid user name", g.User)
	}
	if g.Group != "" && !userRE.MatchString(g.Group) {
		v.fail("global.group", "%q is not a valid group name", g.Group)
	}
	v.oneOf("global.mode", g.Mode, globalModes)
	v.rangeInt("global.nbthread", g.Nbthread, 1, 4096)
	if s := g.StatsSocket; s != nil {
		// HAProxy unlinks what is at the path and binds a socket there.
		v.confinedPath("global.stats_socket.path", s.Path, "sockets", "/run/", "/var/run/", "/var/lib/haproxy/")
		v.socketPath("global.stats_socket.path", s.Path)
		if s.Mode != "" && !modeOctRE.MatchString(s.Mode) {
			v.fail("global.stats_socket.mode", "%q is not an octal mode like 660", s.Mode)
		} else if s.Mode != "" && s.Mode[len(s.Mode)-1]&2 != 0 && s.Level != "user" && !s.Insecure {
			// Level defaults to user, but only from 1.9 (operator before it); both
			// change servers' state and admin runs anything the master can.
			v.failHint("global.stats_socket.mode", "use mode 660 and add the users to HAProxy's group, or set insecure = true if everyone on the host may drive HAProxy",
				"mode %s lets every local user write to the %s socket", s.Mode, cmpOr(s.Level, "runtime API"))
		}
		v.oneOf("global.stats_socket.level", s.Level, sockLevels)
	}
}

func (p *Profile) validateDefaults(v *validator) {
	d := &p.Defaults
	v.oneOf("defaults.mode", d.Mode, modes)
	if d.Retries < 0 || d.Retries > 100 {
		v.fail("defaults.retries", "%d is out of range 0-100", d.Retries)
	}
	for _, w := range strings.Fields(d.RetryOn) {
		v.oneOf("defaults.retry_on", w, retryOn)
	}
	if d.RetryOn != "" && strings.Join(strings.Fields(d.RetryOn), " ") != d.RetryOn {
		v.fail("defaults.retry_on", "separate keywords with single spaces")
	}
	if d.ForwardforExcept != "" {
		if _, err := netip.ParsePrefix(d.ForwardforExcept); err != nil {
			v.fail("defaults.forwardfor_except", "%q is not a network like 127.0.0.0/8", d.ForwardforExcept)
		}
	}
	v.rangeInt("defaults.maxconn", d.Maxconn, 1, 10_000_000)
	t := &d.Timeout
	for _, x := range []struct{ k, s string }{
		{"connect", t.Connect}, {"client", t.Client}, {"server", t.Server}, {"check", t.Check},
		{"queue", t.Queue}, {"http_request", t.HTTPRequest}, {"http_keep_alive", t.HTTPKeepAlive}, {"tunnel", t.Tunnel},
	} {
		v.duration("defaults.timeout."+x.k, x.s)
	}
}

func (p *Profile) validateResolvers(v *validator, name string, r *Resolvers) {
	path := "resolvers." + name
	v.ident(path, name)
	if r == nil {
		return
	}
	if len(r.Nameservers) == 0 && !r.parseResolvConf() {
		v.fail(path+".parse_resolv_conf", "false with no nameservers: give nameservers = [\"IP:53\", …] or leave parse_resolv_conf out (the host's /etc/resolv.conf)")
	}
	for i, ns := range r.Nameservers {
		v.address(fmt.Sprintf("%s.nameservers.%d", path, i), ns, ruleNameserver)
	}
	v.duration(path+".hold", r.Hold)
	for _, x := range []struct{ k, s string }{
		{"hold_timeout", r.HoldTimeout}, {"hold_refused", r.HoldRefused}, {"hold_other", r.HoldOther},
		{"hold_nx", r.HoldNX},
	} {
		v.duration(path+"."+x.k, x.s)
	}
	if r.HoldObsolete != "0s" && r.HoldObsolete != "0" {
		v.duration(path+".hold_obsolete", r.HoldObsolete)
	}
	v.duration(path+".timeout_retry", r.TimeoutRetry)
	v.duration(path+".timeout_resolve", r.TimeoutResolve)
	v.rangeInt(path+".resolve_retries", r.ResolveRetries, 1, 100)
	v.rangeInt(path+".accepted_payload_size", r.AcceptedPayloadSize, 512, 65535)
}

func (p *Profile) validateStats(v *validator) {
	s := p.Stats
	if s.Bind == "" {
		v.fail("stats.bind", "missing: the stats page needs its own address, like 127.0.0.1:1919")
	} else {
		v.bindAddr("stats.bind", s.Bind)
	}
	if s.URI != "" && !uriPathRE.MatchString(s.URI) {
		v.fail("stats.uri", "%q: write a path like /stats", s.URI)
	}
	if a, err := parseAddress(s.Bind, ruleBind); err == nil && s.Admin && s.Auth == "" && !s.Insecure &&
		(a.Wildcard || !a.IP.IsLoopback()) {
		v.failHint("stats.admin", "set auth = \"user:password\", bind to 127.0.0.1, or set insecure = true if anyone who reaches the port may stop servers",
			"an admin stats page on %s without auth lets anyone who reaches it disable servers", s.Bind)
	}
	if s.Auth != "" {
		u, pw, ok := strings.Cut(s.Auth, ":")
		if !ok || !mysqlRE.MatchString(u) || pw == "" || strings.Contains(pw, ":") {
			v.fail("stats.auth", "write user:password (user of letters, digits, '_', '.', '-')")
		} else {
			v.word("stats.auth", s.Auth)
		}
	}
	v.duration("stats.refresh", s.Refresh)
}
