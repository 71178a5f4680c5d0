package profiles

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"harpy/hint"
)

// FieldError is one invalid value, with where it was written.
type FieldError struct {
	Pos   Pos
	Field string // dotted path, e.g. listen.0.servers.2.address
	Msg   string
	Hint  string // what to write instead, when the field has its own advice
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, displayField(e.Field), e.Msg)
}

// displayField writes list indexes the way people read them: listen[0].servers[2].address.
func displayField(path string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return printable(b.String())
}

// FieldErrors is every problem found in a profile, in file order.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

type validator struct {
	pos   posFunc
	errs  FieldErrors
	allow []string // the profile's allow_paths, each ending in "/"
}

func (v *validator) fail(path, format string, args ...any) {
	v.failHint(path, "", format, args...)
}

// failHint records an invalid field with advice of its own.
func (v *validator) failHint(path, hint, format string, args ...any) {
	pos, _ := v.pos(path)
	v.errs = append(v.errs, &FieldError{Pos: pos, Field: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

var (
	identRE    = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	userRE     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	fsPathRE   = regexp.MustCompile(`^/[A-Za-z0-9_./-]*$`)
	uriPathRE  = regexp.MustCompile(`^/[A-Za-z0-9_./~%?=&+-]*$`)
	durationRE = regexp.MustCompile(`^[0-9]{1,9}(us|ms|s|m|h|d)?$`)
	hostRE     = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)
	modeOctRE  = regexp.MustCompile(`^0?[0-7]{3}$`)
	srvRE      = regexp.MustCompile(`^_[A-Za-z0-9-]{1,62}\._(tcp|udp)\.([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)
	prefixRE   = regexp.MustCompile(`^/([A-Za-z0-9_~-]+/)+$`)
	mysqlRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	// A word HAProxy reads as one token: printable, no blank, no quote, no backslash, no #.
	wordRE = regexp.MustCompile(`^[!$%&()*+,\-./0-9:;<=>?@A-Z\[\]^_` + "`" + `a-z{|}~]{1,256}$`)
)

func isIdent(s string) bool { return identRE.MatchString(s) }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var (
	facilities = set("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
		"auth2", "ftp", "ntp", "audit", "alert", "cron2",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")
	levels      = set("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
	modes       = set("http", "tcp")
	balances    = set("roundrobin", "static-rr", "leastconn", "first", "source", "uri", "random")
	methods     = set("GET", "HEAD", "OPTIONS")
	sockLevels  = set("user", "operator", "admin")
	globalModes = set("daemon", "master-worker", "foreground")
	criteria    = set("path", "path_beg", "path_end", "path_reg", "path_sub", "path_dir",
		"hdr(host)", "hdr_beg(host)", "hdr_end(host)", "hdr_dom(host)", "hdr_reg(host)",
		"src", "method", "dst_port")
	retryOn = set("none", "conn-failure", "empty-response", "junk-response", "response-timeout",
		"0rtt-rejected", "all-retryable-errors", "404", "408", "425", "500", "501", "502", "503", "504")
)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func keys(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (p *Profile) validate() error {
	v := &validator{pos: p.pos}
	if v.pos == nil {
		name := p.Name
		if name == "" {
			name = "(profile built in code)"
		}
		v.pos = func(string) (Pos, bool) { return Pos{File: name}, false }
	}
	p.validateAllowPaths(v)
	p.validateGlobal(v)
	p.validateDefaults(v)
	for _, name := range sortedKeys(p.Resolvers) {
		p.validateResolvers(v, name, p.Resolvers[name])
	}
	names := map[string]string{}
	binds := map[string]string{}
	for _, k := range []struct {
		key  string
		list []*Proxy
	}{{"frontend", p.Frontends}, {"backend", p.Backends}, {"listen", p.Listens}} {
		for i, px := range k.list {
			path := fmt.Sprintf("%s.%d", k.key, i)
			if px == nil {
				v.fail(path, "empty section")
				continue
			}
			if px.Drop {
				continue
			}
			p.validateProxy(v, k.key, path, px)
			if prev, ok := names[px.Name]; ok && px.Name != "" {
				v.fail(path+".name", "duplicate name %q (also %s)", px.Name, displayField(prev))
			}
			names[px.Name] = path
			for j, b := range px.Bind {
				if prev, ok := binds[b]; ok {
					v.fail(fmt.Sprintf("%s.bind.%d", path, j), "address %s is already bound by %s", b, displayField(prev))
				}
				binds[b] = path
			}
		}
	}
	if p.Stats != nil && !p.Stats.Disabled {
		p.validateStats(v)
		if prev, ok := binds[p.Stats.Bind]; ok {
			v.fail("stats.bind", "address %s is already bound by %s", p.Stats.Bind, displayField(prev))
		}
		if _, ok := names["stats"]; ok {
			v.fail(names["stats"]+".name", `the name "stats" is taken by the [stats] listener`)
		}
	}
	p.validateRefs(v)
	if live(p.Frontends)+live(p.Listens) == 0 && (p.Stats == nil || p.Stats.Disabled) {
		v.fail("", "no frontend, listen or stats: HAProxy would accept no traffic (and refuses to start)")
	}
	if p.Logging.File != "" {
		// rsyslog appends to it, logrotate renames, compresses and deletes its copies.
		v.confinedPath("logging.file", p.Logging.File, "log files", "/var/log/")
	}
	if p.Logging.Rotate < 0 || p.Logging.Rotate > 3650 {
		v.fail("logging.rotate", "must be between 1 and 3650 days")
	}
	if len(v.errs) == 0 {
		return nil
	}
	sort.SliceStable(v.errs, func(i, j int) bool {
		a, b := v.errs[i].Pos, v.errs[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	h := "fix the fields named above; docs/profiles.md lists what each accepts"
	if len(v.errs) == 1 && v.errs[0].Hint != "" {
		h = v.errs[0].Hint
	}
	return hint.Input(hint.With(fmt.Errorf("profile %s:\n%w", printable(p.Name), v.errs), "%s", h))
}

// live counts the sections that are not dropped.
func live(list []*Proxy) int {
	n := 0
	for _, px := range list {
		if px != nil && !px.Drop {
			n++
		}
	}
	return n
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (v *validator) ident(path, s string) {
	if !isIdent(s) {
		v.fail(path, "%q is not a valid name: use 1-64 letters, digits, '_', '.', ':' or '-'", s)
	}
}

func (v *validator) fsPath(path, s string) { v.fsPathOK(path, s) }

func (v *validator) fsPathOK(path, s string) bool {
	if !fsPathRE.MatchString(s) || strings.Contains(s, "..") || strings.Contains(s, "//") || strings.Contains(s, "/./") || strings.HasSuffix(s, "/.") {
		v.fail(path, "%q is not an absolute path of letters, digits, '_', '.', '-' and '/'", s)
		return false
	}
	return true
}

func (v *validator) duration(path, s string) {
	if s == "" {
		return
	}
	if !durationRE.MatchString(s) || strings.TrimLeft(s, "0") == "" || s[0] == '0' {
		v.fail(path, "%q is not a duration: write a positive number with a unit, like 500ms, 10s, 1m", s)
		return
	}
	if ms := durationMS(s); ms > maxTimerMS {
		v.failHint(path, "HAProxy's timers hold at most 2147483647 ms (about 24.8 days)",
			"%q is %d ms, more than HAProxy's largest timer", s, ms)
	}
}

// maxTimerMS is the largest timer HAProxy takes (INT_MAX milliseconds).
const maxTimerMS = 1<<31 - 1

// durationMS is a duration durationRE accepted, in milliseconds (microseconds rounded up).
func durationMS(s string) int64 {
	num := strings.TrimRight(s, "usmhd")
	n, _ := strconv.ParseInt(num, 10, 64)
	switch s[len(num):] {
	case "us":
		return (n + 999) / 1000
	case "s":
		return n * 1000
	case "m":
		return n * 60_000
	case "h":
		return n * 3_600_000
	case "d":
		return n * 86_400_000
	}
	return n
}

// maxSocketPath is the longest unix socket path HAProxy binds: sun_path holds 108
// bytes and HAProxy binds to PATH.PID.tmp first, then renames.
const maxSocketPath = 97

// systemTrees can never be allowed: a pidfile, socket or log file there could replace
// or rotate away a file the system needs.
var systemTrees = []string{"/etc/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/boot/", "/proc/", "/sys/", "/dev/", "/root/"}

func (p *Profile) validateAllowPaths(v *validator) {
	for i, d := range p.AllowPaths {
		path := fmt.Sprintf("allow_paths.%d", i)
		if !v.fsPathOK(path, d) {
			continue
		}
		d = strings.TrimSuffix(d, "/") + "/"
		if d == "/" || slices.ContainsFunc(systemTrees, func(t string) bool { return strings.HasPrefix(d, t) || strings.HasPrefix(t, d) }) {
			v.failHint(path, "allow a directory of your own, such as /srv/haproxy", "%q is or holds a system directory", p.AllowPaths[i])
			continue
		}
		v.allow = append(v.allow, d)
	}
}

// confinedPath checks an absolute path that harpy makes a program write, create or
// delete: it must lie under one of dirs, so that a slip (logging.file = "/etc/passwd",
// a pidfile over /etc/shadow) cannot make rsyslog, logrotate or HAProxy overwrite or
// rotate away a system file.
func (v *validator) confinedPath(path, s, what string, dirs ...string) {
	if !v.fsPathOK(path, s) {
		return
	}
	for _, d := range append(dirs, v.allow...) {
		if strings.HasPrefix(s, d) && len(s) > len(d) && !strings.HasSuffix(s, "/") {
			return
		}
	}
	v.failHint(path, fmt.Sprintf("put %s under %s", what, strings.Join(dirs, " or ")),
		"%q is outside the directories for %s", s, what)
}

// socketPath checks the path of a unix socket HAProxy binds or connects to.
func (v *validator) socketPath(path, s string) {
	if len(s) > maxSocketPath {
		v.failHint(path, "use a shorter path, like /run/haproxy/admin.sock",
			"%q is %d bytes; a unix socket path holds at most %d (sun_path)", s, len(s), maxSocketPath)
	}
}

// systemDirs are where a chroot must not be: HAProxy would run with a system tree as
// its root.
var systemDirs = []string{"/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/sbin", "/sys", "/usr"}

func (v *validator) rangeInt(path string, n, lo, hi int) {
	if n != 0 && (n < lo || n > hi) {
		v.fail(path, "%d is out of range %d-%d", n, lo, hi)
	}
}

func (v *validator) oneOf(path, s string, allowed map[string]bool) {
	if s != "" && !allowed[s] {
		v.fail(path, "%q is not one of: %s", s, keys(allowed))
	}
}

func (v *validator) word(path, s string) {
	if !wordRE.MatchString(s) {
		v.fail(path, "%q must be 1-256 printable characters without blanks, quotes, '\\' or '#'", s)
	}
}

// bindAddr checks a bind address: "IP:port", "[IPv6]:port", "*:port" or ":port".
func (v *validator) bindAddr(path, s string) { v.address(path, s, ruleBind) }

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
	if len(r.Nameservers) == 0 && !r.ParseResolvConf {
		v.fail(path, "give nameservers = [\"IP:53\", …] or parse_resolv_conf = true")
	}
	for i, ns := range r.Nameservers {
		v.address(fmt.Sprintf("%s.nameservers.%d", path, i), ns, ruleNameserver)
	}
	v.duration(path+".hold", r.Hold)
	v.duration(path+".timeout_retry", r.TimeoutRetry)
	v.duration(path+".timeout_resolve", r.TimeoutResolve)
	v.rangeInt(path+".resolve_retries", r.ResolveRetries, 1, 100)
	v.rangeInt(path+".accepted_payload_size", r.AcceptedPayloadSize, 512, 65535)
}

func (p *Profile) effectiveMode(px *Proxy) string {
	switch {
	case px.Mode != "":
		return px.Mode
	case p.Defaults.Mode != "":
		return p.Defaults.Mode
	}
	return "http"
}

func (p *Profile) validateProxy(v *validator, kind, path string, px *Proxy) {
	if px.Name == "" {
		v.fail(path+".name", "missing: every %s needs a name", kind)
	} else {
		v.ident(path+".name", px.Name)
	}
	v.oneOf(path+".mode", px.Mode, modes)
	mode := p.effectiveMode(px)
	front := kind != "backend"
	back := kind != "frontend"
	if front && len(px.Bind) == 0 {
		v.fail(path+".bind", "a %s needs at least one bind address", kind)
	}
	for i, b := range px.Bind {
		if !front {
			v.fail(path+".bind", "a backend has no bind; use a frontend or listen")
			break
		}
		v.bindAddr(fmt.Sprintf("%s.bind.%d", path, i), b)
	}
	acls := map[string]bool{}
	for i, a := range px.ACL {
		ap := fmt.Sprintf("%s.acl.%d", path, i)
		if !front {
			v.fail(ap, "ACLs and use_backend belong to a frontend or listen")
			break
		}
		v.ident(ap+".name", a.Name)
		v.oneOf(ap+".criterion", a.Criterion, criteria)
		if a.Criterion == "" {
			v.fail(ap+".criterion", "missing: one of %s", keys(criteria))
		}
		v.word(ap+".value", a.Value)
		if strings.HasPrefix(a.Value, "-") {
			// HAProxy would read it as a flag (-i, -m, -f FILE …).
			v.fail(ap+".value", "%q starts with '-', which HAProxy reads as an ACL flag", a.Value)
		}
		if strings.HasSuffix(a.Criterion, "_reg") {
			v.regex(ap+".value", a.Value)
		} else if a.Value != "" {
			v.aclValue(ap+".value", a.Criterion, a.Value)
		}
		if strings.HasPrefix(a.Criterion, "path") || strings.HasPrefix(a.Criterion, "hdr") || a.Criterion == "method" {
			if mode != "http" {
				v.fail(ap+".criterion", "%s needs mode http", a.Criterion)
			}
		}
		acls[a.Name] = true
	}
	for i, u := range px.UseBackend {
		up := fmt.Sprintf("%s.use_backend.%d", path, i)
		if !front {
			break
		}
		v.ident(up+".backend", u.Backend)
		if len(u.If) == 0 {
			v.fail(up+".if", "missing: name the ACLs that must match")
		}
		for j, c := range u.If {
			if !acls[strings.TrimPrefix(c, "!")] {
				v.fail(fmt.Sprintf("%s.if.%d", up, j), "%q is not an ACL of this %s", c, kind)
			}
		}
	}
	if px.DefaultBackend != "" {
		if !front {
			v.fail(path+".default_backend", "default_backend belongs to a frontend or listen")
		} else {
			v.ident(path+".default_backend", px.DefaultBackend)
		}
	}
	if kind == "frontend" {
		for _, f := range []struct {
			k   string
			set bool
		}{{"balance", px.Balance != ""}, {"health", px.Health != nil}, {"strip_prefix", px.StripPrefix != ""},
			{"resolvers", px.Resolvers != ""}, {"init_addr", px.InitAddr != ""}, {"servers", len(px.Servers) > 0},
			{"server_template", px.ServerTemplate != nil}} {
			if f.set {
				v.fail(path+"."+f.k, "a frontend has no %s; put it in a backend or listen", f.k)
			}
		}
		if px.DefaultBackend == "" && len(px.UseBackend) == 0 {
			v.fail(path, "frontend %q sends traffic nowhere: set default_backend or use_backend", px.Name)
		}
	}
	v.rangeInt(path+".maxconn", px.Maxconn, 1, 10_000_000)
	if !back {
		return
	}
	v.oneOf(path+".balance", px.Balance, balances)
	if px.StripPrefix != "" {
		if !prefixRE.MatchString(px.StripPrefix) {
			v.fail(path+".strip_prefix", "%q: write a path prefix like /spark/ (letters, digits, '_', '~', '-' between slashes)", px.StripPrefix)
		}
		if mode != "http" {
			v.fail(path+".strip_prefix", "rewriting paths needs mode http")
		}
	}
	if px.Resolvers != "" {
		if _, ok := p.Resolvers[px.Resolvers]; !ok {
			v.fail(path+".resolvers", "no resolvers section %q (have: %s)", px.Resolvers, strings.Join(sortedKeys(p.Resolvers), ", "))
		}
	}
	if px.InitAddr != "" {
		for _, m := range strings.Split(px.InitAddr, ",") {
			if m == "last" || m == "libc" || m == "none" {
				continue
			}
			if _, err := parseAddress(m, ruleInitAddr); err != nil {
				v.failHint(path+".init_addr", "write a comma list of last, libc, none or an IP address, like last,libc,10.0.0.1",
					"%q: %s", px.InitAddr, err.msg)
				break
			}
		}
	}
	if h := px.Health; h != nil {
		p.validateHealth(v, path+".health", h)
	}
	seen := map[string]int{}
	for i, s := range px.Servers {
		sp := fmt.Sprintf("%s.servers.%d", path, i)
		v.ident(sp+".name", s.Name)
		if j, ok := seen[s.Name]; ok {
			v.fail(sp+".name", "duplicate server name %q (also servers[%d]); HAProxy 2.0+ refuses it", s.Name, j)
		}
		seen[s.Name] = i
		v.address(sp+".address", s.Address, ruleServer)
		if s.Weight != nil && (*s.Weight < 0 || *s.Weight > 256) {
			v.fail(sp+".weight", "%d is out of range 0-256", *s.Weight)
		}
		v.rangeInt(sp+".maxconn", s.Maxconn, 1, 10_000_000)
	}
	if t := px.ServerTemplate; t != nil {
		tp := path + ".server_template"
		v.ident(tp+".prefix", t.Prefix)
		if t.Count < 1 || t.Count > 100000 {
			v.fail(tp+".count", "%d is out of range 1-100000", t.Count)
		}
		if a, ok := v.address(tp+".address", t.Address, ruleTemplate); ok && a.IP.IsValid() {
			v.fail(tp+".address", "%q: a server template resolves a DNS name (or _service._proto.name SRV record)", t.Address)
		}
		if px.Resolvers == "" {
			v.fail(tp, "a server template needs resolvers")
		}
		for name, i := range seen {
			if strings.HasPrefix(name, t.Prefix) {
				v.fail(fmt.Sprintf("%s.servers.%d.name", path, i), "server name %q may clash with server_template prefix %q", name, t.Prefix)
			}
		}
	}
}

var (
	portRangeRE = regexp.MustCompile(`^[1-9][0-9]{0,4}(:[1-9][0-9]{0,4})?$`)
	methodRE    = regexp.MustCompile(`^[A-Z]{1,16}$`)
	hostValueRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,253}$`)
)

// aclValue checks that an ACL value has the type its fetch compares with: HAProxy
// would refuse it, or (src) try to resolve it as a host name while it starts.
func (v *validator) aclValue(path, criterion, s string) {
	switch {
	case criterion == "src":
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			return
		}
		if _, err := netip.ParsePrefix(s); err == nil {
			return
		}
		v.failHint(path, "write an IP address or a network, like 10.0.0.0/8", "%q is not an IP address or network for src", s)
	case criterion == "dst_port":
		lo, hi, _ := strings.Cut(s, ":")
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(cmpOr(hi, lo))
		if !portRangeRE.MatchString(s) || a > 65535 || b > 65535 || b < a {
			v.failHint(path, "write a port or a range, like 443 or 8000:8999", "%q is not a port or port range for dst_port", s)
		}
	case criterion == "method":
		if !methodRE.MatchString(s) {
			v.failHint(path, "write an HTTP method in capitals, like GET or POST", "%q is not an HTTP method", s)
		}
	case strings.HasPrefix(criterion, "hdr"):
		if !hostValueRE.MatchString(s) {
			v.failHint(path, "write a host name or a part of one, like example.com or www.", "%q is not (part of) a host name for %s", s, criterion)
		}
	}
}

func (v *validator) regex(path, s string) {
	if _, err := regexp.Compile(s); err != nil {
		v.fail(path, "%q is not a valid regular expression: %v", s, err)
	}
}

func (p *Profile) validateHealth(v *validator, path string, h *Health) {
	v.oneOf(path+".type", h.Type, set("tcp", "http", "mysql"))
	typ := h.kind()
	switch typ {
	case "http": // HTTP checks work in mode tcp too
		v.oneOf(path+".method", h.Method, methods)
		if h.Path == "" {
			v.fail(path+".path", "an http check needs a path, like /health")
		} else if !uriPathRE.MatchString(h.Path) {
			v.fail(path+".path", "%q: write a path like /health (letters, digits and _./~%%?=&+-)", h.Path)
		}
		if h.Host != "" && !hostRE.MatchString(h.Host) {
			v.fail(path+".host", "%q is not a DNS name", h.Host)
		}
		n := 0
		if h.ExpectStatus != 0 {
			n++
			if h.ExpectStatus < 100 || h.ExpectStatus > 599 {
				v.fail(path+".expect_status", "%d is not an HTTP status", h.ExpectStatus)
			}
		}
		if h.ExpectString != "" {
			n++
			v.word(path+".expect_string", h.ExpectString)
		}
		if h.ExpectRegex != "" {
			n++
			v.word(path+".expect_rstring", h.ExpectRegex)
			v.regex(path+".expect_rstring", h.ExpectRegex)
		}
		if n > 1 {
			v.fail(path, "give one of expect_status, expect_string, expect_rstring")
		}
	case "mysql":
		if !mysqlRE.MatchString(h.MySQLUser) {
			v.fail(path+".mysql_user", "%q is not a MySQL user name (letters, digits, '_', '.', '-')", h.MySQLUser)
		}
	}
	if typ != "http" {
		for _, f := range []struct {
			k   string
			set bool
		}{{"method", h.Method != ""}, {"path", h.Path != ""}, {"host", h.Host != ""}, {"expect_status", h.ExpectStatus != 0},
			{"expect_string", h.ExpectString != ""}, {"expect_rstring", h.ExpectRegex != ""}} {
			if f.set {
				v.fail(path+"."+f.k, "%s only applies to an http check", f.k)
			}
		}
	}
	if typ != "mysql" && h.MySQLUser != "" {
		v.fail(path+".mysql_user", "mysql_user only applies to a mysql check")
	}
	v.duration(path+".inter", h.Inter)
	v.rangeInt(path+".fall", h.Fall, 1, 100)
	v.rangeInt(path+".rise", h.Rise, 1, 100)
	v.rangeInt(path+".port", h.Port, 1, 65535)
}

// kind is the check type, explicit or implied by the fields given.
func (h *Health) kind() string {
	switch {
	case h.Type != "":
		return h.Type
	case h.MySQLUser != "":
		return "mysql"
	case h.Path != "" || h.Method != "" || h.ExpectStatus != 0 || h.ExpectString != "" || h.ExpectRegex != "":
		return "http"
	}
	return "tcp"
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

func (p *Profile) validateRefs(v *validator) {
	backends := map[string]string{} // name → mode
	for _, px := range append(append([]*Proxy{}, p.Backends...), p.Listens...) {
		if px != nil && !px.Drop {
			backends[px.Name] = p.effectiveMode(px)
		}
	}
	ref := func(path, name string, from *Proxy) {
		bm, ok := backends[name]
		switch {
		case !ok:
			v.fail(path, "no backend or listen named %q", name)
		case bm != p.effectiveMode(from):
			v.fail(path, "%q runs in mode %s but %q in mode %s: HAProxy refuses to mix them", from.Name, p.effectiveMode(from), name, bm)
		}
	}
	check := func(kind string, list []*Proxy) {
		for i, px := range list {
			if px == nil || px.Drop {
				continue
			}
			path := fmt.Sprintf("%s.%d", kind, i)
			if px.DefaultBackend != "" {
				ref(path+".default_backend", px.DefaultBackend, px)
			}
			for j, u := range px.UseBackend {
				ref(fmt.Sprintf("%s.use_backend.%d.backend", path, j), u.Backend, px)
			}
		}
	}
	check("frontend", p.Frontends)
	check("listen", p.Listens)
}
