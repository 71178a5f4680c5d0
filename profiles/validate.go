package profiles

import (
	"fmt"
	"harpy/rsyslog"
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
	facilities  = set(rsyslog.Facilities...) // HAProxy's names; rsyslog maps the two it calls otherwise
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
	v.failHint(path, fmt.Sprintf("put %s under %s, or name a directory of your own in allow_paths = [\"/srv/haproxy\"]", what, strings.Join(dirs, " or ")),
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
