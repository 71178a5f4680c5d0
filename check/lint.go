package check

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"harpy/hint"
	"harpy/hversion"
	"harpy/safefile"
)

// Severity of a lint finding for the target version.
type Severity string

const (
	// Removed: the target refuses the config (or silently ignores the line).
	Removed Severity = "error"
	// Deprecated: the target still accepts it but warns; a later version refuses it.
	Deprecated Severity = "warning"
)

// Finding is one directive the target version deprecated or removed.
type Finding struct {
	File      string // set by LintFile
	Line      int
	Directive string
	Severity  Severity
	Message   string
	// Replacement is the modern form to write instead.
	Replacement string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%d: %s: %s: %s", f.Line, f.Severity, f.Directive, f.Message)
	if f.File != "" {
		s = f.File + ":" + s
	}
	if f.Replacement != "" {
		s += "; use " + f.Replacement
	}
	return s
}

// rule is a directive (first words of a line) with the versions that deprecated and
// removed it. A zero version means never.
type rule struct {
	words       []string
	deprecated  string
	removed     string
	replacement string
}

var rules = []rule{
	{words: []string{"reqrep"}, deprecated: "2.0", removed: "2.1", replacement: "http-request replace-path (2.2+), http-request set-path %[path,regsub(…)] (2.1) or http-request replace-header"},
	{words: []string{"reqirep"}, deprecated: "2.0", removed: "2.1", replacement: "http-request replace-path / replace-header with a (?i) regex"},
	{words: []string{"reqadd"}, deprecated: "2.0", removed: "2.1", replacement: "http-request add-header"},
	{words: []string{"reqdel"}, deprecated: "2.0", removed: "2.1", replacement: "http-request del-header"},
	{words: []string{"reqidel"}, deprecated: "2.0", removed: "2.1", replacement: "http-request del-header"},
	{words: []string{"reqallow"}, deprecated: "2.0", removed: "2.1", replacement: "http-request allow"},
	{words: []string{"reqiallow"}, deprecated: "2.0", removed: "2.1", replacement: "http-request allow"},
	{words: []string{"reqdeny"}, deprecated: "2.0", removed: "2.1", replacement: "http-request deny"},
	{words: []string{"reqideny"}, deprecated: "2.0", removed: "2.1", replacement: "http-request deny"},
	{words: []string{"reqpass"}, deprecated: "2.0", removed: "2.1", replacement: "http-request allow"},
	{words: []string{"reqipass"}, deprecated: "2.0", removed: "2.1", replacement: "http-request allow"},
	{words: []string{"reqtarpit"}, deprecated: "2.0", removed: "2.1", replacement: "http-request tarpit"},
	{words: []string{"reqitarpit"}, deprecated: "2.0", removed: "2.1", replacement: "http-request tarpit"},
	{words: []string{"reqsetbe"}, deprecated: "1.4", removed: "2.1", replacement: "use_backend … if …"},
	{words: []string{"reqisetbe"}, deprecated: "1.4", removed: "2.1", replacement: "use_backend … if …"},
	{words: []string{"rsprep"}, deprecated: "2.0", removed: "2.1", replacement: "http-response replace-header / replace-value"},
	{words: []string{"rspirep"}, deprecated: "2.0", removed: "2.1", replacement: "http-response replace-header / replace-value"},
	{words: []string{"rspadd"}, deprecated: "2.0", removed: "2.1", replacement: "http-response add-header"},
	{words: []string{"rspdel"}, deprecated: "2.0", removed: "2.1", replacement: "http-response del-header"},
	{words: []string{"rspidel"}, deprecated: "2.0", removed: "2.1", replacement: "http-response del-header"},
	{words: []string{"rspdeny"}, deprecated: "2.0", removed: "2.1", replacement: "http-response deny"},
	{words: []string{"rspideny"}, deprecated: "2.0", removed: "2.1", replacement: "http-response deny"},
	{words: []string{"block"}, deprecated: "1.5", removed: "2.1", replacement: "http-request deny"},
	{words: []string{"clitimeout"}, deprecated: "1.5", removed: "2.1", replacement: "timeout client"},
	{words: []string{"srvtimeout"}, deprecated: "1.5", removed: "2.1", replacement: "timeout server"},
	{words: []string{"contimeout"}, deprecated: "1.5", removed: "2.1", replacement: "timeout connect"},
	{words: []string{"redispatch"}, deprecated: "1.5", removed: "2.1", replacement: "option redispatch"},
	{words: []string{"option", "http-tunnel"}, deprecated: "2.0", removed: "2.1", replacement: "nothing: HTX handles tunnels (remove the line)"},
	{words: []string{"option", "http-use-htx"}, deprecated: "2.1", removed: "2.2", replacement: "nothing: HTX is always on (remove the line)"},
	{words: []string{"option", "forceclose"}, deprecated: "1.9", removed: "2.0", replacement: "option httpclose"},
	{words: []string{"option", "independant-streams"}, deprecated: "1.5", removed: "2.1", replacement: "option independent-streams"},
	{words: []string{"monitor-net"}, deprecated: "2.2", removed: "2.4", replacement: "http-request return status 200 if { src NET }"},
	{words: []string{"mode", "health"}, deprecated: "2.2", removed: "2.4", replacement: "monitor-uri or http-request return"},
	{words: []string{"option", "http_proxy"}, deprecated: "2.4", removed: "2.5", replacement: "http-request set-dst / set-dst-port"},
	{words: []string{"nbproc"}, deprecated: "2.4", removed: "2.5", replacement: "nbthread"},
	{words: []string{"bind-process"}, deprecated: "2.4", removed: "2.5", replacement: "nothing with nbthread (remove the line; use thread on bind lines)"},
	{words: []string{"stats", "bind-process"}, deprecated: "2.4", removed: "2.5", replacement: "nothing with nbthread (remove the line)"},
	{words: []string{"tune.chksize"}, deprecated: "1.8", removed: "2.2", replacement: "nothing (remove the line)"},
	{words: []string{"ssl-engine"}, deprecated: "2.6", removed: "", replacement: "OpenSSL providers (ssl-provider)"},
	{words: []string{"program"}, deprecated: "3.1", removed: "3.3", replacement: "a systemd unit or other process manager"},
}

// LintFile is Lint on a file, with the file named in each finding.
func LintFile(path string, target hversion.V) ([]Finding, error) {
	cfg, err := ReadConfig(path)
	if err != nil {
		return nil, err
	}
	fs := Lint(cfg, target)
	for i := range fs {
		fs[i].File = path
	}
	return fs, nil
}

// ReadConfig reads an haproxy.cfg the user named: a regular file (a FIFO, a device or a
// directory is refused without blocking) of at most safefile.MaxConfig bytes. Every error
// names the path, says why, carries a hint and is marked as bad input.
func ReadConfig(path string) ([]byte, error) {
	b, err := safefile.ReadFile(path, safefile.MaxConfig)
	if err != nil {
		if hint.Of(err) == "" {
			err = hint.With(err, "give the path of an haproxy.cfg")
		}
		return nil, hint.Input(fmt.Errorf("read config: %w", err))
	}
	return b, nil
}

// Lint reports, for the target version, directives it deprecated or removed, plus
// pitfalls HAProxy does not report itself.
func Lint(cfg []byte, target hversion.V) []Finding {
	var out []Finding
	lines := bytes.Split(cfg, []byte("\n"))
	section := ""
	var defaultsMode, proxyMode string
	var statsLines []int
	servers := map[string]int{}
	flush := func() {
		mode := proxyMode
		if mode == "" {
			mode = defaultsMode
		}
		if mode == "tcp" {
			for _, l := range statsLines {
				out = append(out, Finding{Line: l, Directive: "stats", Severity: Removed,
					Message:     "stats in a mode tcp proxy are ignored",
					Replacement: "a separate `listen stats` with `mode http` and its own bind (e.g. 127.0.0.1:1919)"})
			}
		}
		statsLines = nil
		servers = map[string]int{}
	}
	for i, raw := range lines {
		n := i + 1
		words := fields(string(raw))
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "global", "defaults", "frontend", "backend", "listen", "resolvers", "peers", "userlist", "program", "cache", "mailers", "ring", "http-errors", "crt-store", "traces":
			flush()
			section = words[0]
			proxyMode = ""
			if (section == "listen" || section == "frontend") && len(words) > 2 && words[2] != "from" {
				out = append(out, Finding{Line: n, Directive: section + " NAME ADDRESS", Severity: Deprecated,
					Message: "an address on the section line is the pre-1.5 form", Replacement: "a `bind ADDRESS` line inside the section"})
			}
		}
		if section == "defaults" && words[0] == "mode" && len(words) > 1 {
			defaultsMode = words[1]
		}
		if (section == "listen" || section == "frontend" || section == "backend") && words[0] == "mode" && len(words) > 1 {
			proxyMode = words[1]
		}
		if (section == "listen" || section == "frontend" || section == "backend") && words[0] == "stats" && len(words) > 1 && words[1] != "socket" {
			statsLines = append(statsLines, n)
		}
		if (section == "listen" || section == "backend") && words[0] == "server" && len(words) > 1 && target.AtLeast(2, 0) {
			if first, ok := servers[words[1]]; ok {
				out = append(out, Finding{Line: n, Directive: "server " + words[1], Severity: Removed,
					Message: fmt.Sprintf("duplicate server name (first on line %d) is fatal from 2.0", first), Replacement: "a unique name per server"})
			} else {
				servers[words[1]] = n
			}
		}
		if words[0] == "option" && len(words) > 2 && words[1] == "httpchk" && strings.Contains(string(raw), `\r\n`) && target.AtLeast(2, 2) {
			out = append(out, Finding{Line: n, Directive: "option httpchk …\\r\\n…", Severity: Deprecated,
				Message: "headers smuggled into the version word are deprecated from 2.2", Replacement: "option httpchk + http-check send meth M uri U ver HTTP/1.1 hdr Host H"})
		}
		for _, r := range rules {
			if r.deprecated == "" && r.removed == "" || !matches(words, r.words) {
				continue
			}
			sev := Severity("")
			switch {
			case r.removed != "" && !target.Less(hversion.MustParse(r.removed)):
				sev = Removed
			case r.deprecated != "" && !target.Less(hversion.MustParse(r.deprecated)):
				sev = Deprecated
			}
			if sev == "" {
				continue
			}
			msg := "deprecated in " + r.deprecated
			if r.removed != "" {
				msg += ", removed in " + r.removed
			}
			repl := r.replacement
			if r.words[0] == "reqrep" {
				if exact := reqrepPrefix(words, target); exact != "" {
					repl = exact
				}
			}
			out = append(out, Finding{Line: n, Directive: strings.Join(r.words, " "), Severity: sev,
				Message: fmt.Sprintf("%s (target %s)", msg, target), Replacement: repl})
		}
	}
	flush()
	if len(cfg) > 0 && cfg[len(cfg)-1] != '\n' && target.AtLeast(2, 2) {
		sev := Deprecated
		if target.AtLeast(2, 3) {
			sev = Removed
		}
		out = append(out, Finding{Line: len(lines), Directive: "end of file", Severity: sev,
			Message: "the last line has no newline (a warning in 2.2, fatal from 2.3)", Replacement: "a final newline"})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

func matches(words, want []string) bool {
	if len(words) < len(want) {
		return false
	}
	for i := range want {
		if words[i] != want[i] {
			return false
		}
	}
	return true
}

// fields splits a config line into words the way HAProxy does for keywords: blanks
// separate words unless escaped ("\ ") or quoted, and an unescaped # outside quotes starts
// a comment. Escapes are kept as written.
func fields(line string) []string {
	var words []string
	var cur strings.Builder
	in := false
	var quote byte
	flush := func() {
		if in {
			words = append(words, cur.String())
			cur.Reset()
			in = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			cur.WriteByte(c)
			cur.WriteByte(line[i+1])
			i++
			in = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			in = true
		case c == '#':
			flush()
			return words
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	flush()
	return words
}

// reqrepStrip matches the classic prefix strip on the request line (seed 004):
// reqrep ^([^\ :]*)\ /prefix/(.*)  \1\ /\2
var reqrepStrip = regexp.MustCompile(`^\^\(\[\^\\ :\]\*\)\\ (/(?:[A-Za-z0-9_~-]|\\/|/)*)\(\.\*\)$`)

// reqrepPrefix gives the exact modern line for a reqrep that strips a path prefix.
func reqrepPrefix(words []string, target hversion.V) string {
	if len(words) != 3 || words[2] != `\1\ /\2` {
		return ""
	}
	m := reqrepStrip.FindStringSubmatch(words[1])
	if m == nil {
		return ""
	}
	prefix := strings.ReplaceAll(m[1], `\/`, "/")
	if !strings.HasSuffix(prefix, "/") {
		return ""
	}
	if target.AtLeast(2, 2) || !target.AtLeast(2, 1) {
		return "`http-request replace-path ^" + prefix + "(.*) /\\1` (2.2+)"
	}
	return "`http-request set-path %[path,regsub(^" + prefix + ",/)]`"
}
