package apply

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"harpy/check"
	"harpy/hint"
)

// Service is how the packaged haproxy service runs on a target: its binary, its flags
// and its working directory. HAProxy resolves relative paths in the config (errorfile,
// crt, lua-load, …) against its working directory, or against `default-path`, never
// against the folder of a config file given with -f: a check elsewhere proves nothing.
type Service struct {
	Binary string   // the haproxy the service runs ("" if unknown)
	Config string   // target path of the config (CONFIG), /etc/haproxy/haproxy.cfg by default
	Args   []string // the service's arguments after the binary, variables expanded
	Dir    string   // working directory (WorkingDirectory=, else "/")
	From   []string // the files this was read from, for messages
}

// Units where a packaged haproxy.service lives, the administrator's first.
var unitPaths = []string{"/etc/systemd/system/haproxy.service", "/usr/lib/systemd/system/haproxy.service", "/lib/systemd/system/haproxy.service"}

// Environment files of the init scripts (no unit): Debian's and EL's.
var envPaths = []string{"/etc/default/haproxy", "/etc/sysconfig/haproxy"}

const defaultConfig = "/etc/haproxy/haproxy.cfg"

// DiscoverService reads how haproxy runs on t: the systemd unit (its Environment=,
// EnvironmentFile= — Debian's /etc/default/haproxy EXTRAOPTS, EL's /etc/sysconfig/haproxy
// OPTIONS, Fedora's CFGDIR —, WorkingDirectory= and the command line of its config check
// or of ExecStart), or, with no unit, the init script's environment file (CONFIG, OPTIONS,
// EXTRAOPTS). Drop-ins (haproxy.service.d) are not read.
func DiscoverService(ctx context.Context, t Target) (Service, error) {
	s := Service{Dir: "/"}
	env := map[string]string{}
	var unit *unitFile
	for _, p := range unitPaths {
		cur, err := t.Read(ctx, p)
		if err != nil {
			return s, err
		}
		if cur.Exists && cur.Type.IsRegular() {
			unit = parseUnit(string(cur.Data))
			s.From = append(s.From, t.Path(p))
			break
		}
	}
	files := envPaths
	if unit != nil {
		for _, a := range unit.env {
			k, v, _ := strings.Cut(a, "=")
			env[k] = v
		}
		files = unit.envFiles
		if unit.dir != "" {
			s.Dir = unit.dir
		}
	}
	// Settings from environment files override Environment=, in the order given.
	for _, f := range files {
		optional := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		cur, err := t.Read(ctx, f)
		if err != nil {
			return s, err
		}
		if !cur.Exists || !cur.Type.IsRegular() {
			if !optional && unit != nil {
				return s, hint.With(fmt.Errorf("service environment: %s (EnvironmentFile= of %s) is missing", t.Path(f), s.From[0]),
					"systemd would refuse to start haproxy: create the file or mark it optional with a leading -")
			}
			continue
		}
		for k, v := range parseEnv(string(cur.Data)) {
			env[k] = v
		}
		s.From = append(s.From, t.Path(f))
	}
	var cmdline []string
	if unit != nil {
		cmdline = unit.check
		if cmdline == nil {
			cmdline = unit.start
		}
	}
	if len(cmdline) > 0 {
		s.Binary = cmdline[0]
		// EL7's unit starts a wrapper that cannot check: the haproxy beside it can.
		if path.Base(s.Binary) == "haproxy-systemd-wrapper" {
			s.Binary = path.Join(path.Dir(s.Binary), "haproxy")
		}
		s.Args = expand(cmdline[1:], env)
	} else {
		cfg := env["CONFIG"]
		if cfg == "" {
			cfg = defaultConfig
		}
		s.Args = append([]string{"-f", cfg}, append(strings.Fields(env["OPTIONS"]), strings.Fields(env["EXTRAOPTS"])...)...)
	}
	s.Config = env["CONFIG"]
	if s.Config == "" {
		for i, a := range s.Args {
			if a == "-f" && i+1 < len(s.Args) {
				s.Config = s.Args[i+1]
				break
			}
		}
	}
	if s.Config == "" {
		s.Config = defaultConfig
		s.Args = append([]string{"-f", s.Config}, s.Args...)
	}
	return s, nil
}

// CheckArgs is the command line that checks the service's config with the copy staged
// at staged (a target path) in place of s.Config: the service's flags without those that
// only matter to a running process (-p, -D, -W, -Ws, -q), with -c -V.
func (s Service) CheckArgs(t Target, binary, staged string) []string {
	if binary == "" {
		binary = s.Binary
	}
	if binary == "" {
		binary = check.DefaultBinary
	}
	argv := []string{binary, "-c", "-V"}
	for i := 0; i < len(s.Args); i++ {
		switch a := s.Args[i]; a {
		case "-p":
			i++
		case "-c", "-V", "-q", "-D", "-W", "-Ws", "-db":
		case "-f":
			if i+1 < len(s.Args) {
				i++
				f := s.Args[i]
				if f == s.Config {
					f = staged
				}
				argv = append(argv, "-f", t.Path(f))
			}
		default:
			argv = append(argv, a)
		}
	}
	return argv
}

// HAProxy is the Validator for haproxy.cfg: the service's own check (`haproxy -c`) with
// its flags, in its working directory, on the staged copy.
type HAProxy struct {
	Binary  string   // overrides the service's binary (--binary)
	Service *Service // nil: DiscoverService on the target
}

// Validate runs the service's check on the staged copy of its config.
func (h HAProxy) Validate(ctx context.Context, t Target, files []StagedFile) error {
	var s Service
	if h.Service != nil {
		s = *h.Service
	} else {
		var err error
		if s, err = DiscoverService(ctx, t); err != nil {
			return err
		}
	}
	var cfg *StagedFile
	for i, f := range files {
		if f.Path == s.Config {
			cfg = &files[i]
		}
	}
	if cfg == nil {
		return hint.With(fmt.Errorf("validate: the service reads %s (%s), which is not among the files written", t.Path(s.Config), from(s)),
			"write the config the service reads, or set CONFIG in its environment file")
	}
	argv := s.CheckArgs(t, h.Binary, cfg.Staged)
	// A directory given with -f loads its *.cfg files: a staged copy there has a
	// temporary name and would be skipped, the old file checked in its place.
	for i := 0; i+1 < len(s.Args); i++ {
		if s.Args[i] != "-f" || s.Args[i+1] == s.Config {
			continue
		}
		for _, f := range files {
			if f.Changed && path.Dir(f.Path) == path.Clean(s.Args[i+1]) {
				return hint.With(fmt.Errorf("validate %s: it is in %s, a directory the service loads with -f", t.Path(f.Path), t.Path(s.Args[i+1])),
					"harpy cannot check a staged file there yet: write it into the main config instead")
			}
		}
	}
	out, err := t.Run(ctx, s.Dir, argv...)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("check %s: interrupted: %w", t.Path(cfg.Staged), ctx.Err())
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return hint.With(&check.HAProxyError{Binary: strings.Join(argv[:1], ""), Config: t.Path(cfg.Staged), Output: string(out), Err: fmt.Errorf("%w (run as %q in %s, flags from %s)", err, argv, t.Path(s.Dir), from(s))},
			"fix the lines HAProxy names above (`harpy check` also lists deprecated directives)")
	}
	return hint.With(fmt.Errorf("check %s: run %s: %w", t.Path(cfg.Staged), argv[0], err), "install haproxy, or pass the binary with --binary (harpy build makes one)")
}

func from(s Service) string {
	if len(s.From) == 0 {
		return "harpy's defaults: no haproxy unit or environment file on the target"
	}
	return strings.Join(s.From, ", ")
}

// unitFile is what DiscoverService needs from a systemd unit's [Service] section.
type unitFile struct {
	env, envFiles []string
	dir           string
	check, start  []string // the first Exec line that runs -c; ExecStart
}

func parseUnit(text string) *unitFile {
	u := &unitFile{}
	section := ""
	for _, line := range joinContinued(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = strings.Trim(line, "[]")
			continue
		}
		if section != "Service" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "Environment":
			if v == "" {
				u.env = nil
			}
			u.env = append(u.env, words(v)...)
		case "EnvironmentFile":
			if v == "" {
				u.envFiles = nil
			} else {
				u.envFiles = append(u.envFiles, v)
			}
		case "WorkingDirectory":
			if d := strings.TrimPrefix(v, "-"); strings.HasPrefix(d, "/") {
				u.dir = path.Clean(d)
			}
		case "ExecStart", "ExecStartPre", "ExecReload":
			w := words(strings.TrimLeft(v, "@-:+!|"))
			if len(w) == 0 {
				continue
			}
			if k == "ExecStart" && u.start == nil {
				u.start = w
			}
			if u.check == nil && path.Base(w[0]) != "kill" && contains(w, "-c") {
				u.check = w
			}
		}
	}
	return u
}

func contains(ws []string, s string) bool {
	for _, w := range ws {
		if w == s {
			return true
		}
	}
	return false
}

func joinContinued(text string) []string {
	var out []string
	cont := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, `\`) {
			cont += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		out = append(out, cont+l)
		cont = ""
	}
	return append(out, cont)
}

// words splits a systemd value into words: whitespace separates, double and single
// quotes group, a backslash escapes the next character.
func words(s string) []string {
	var out []string
	var b strings.Builder
	in, quote, esc := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			b.WriteByte(c)
			esc = false
		case c == '\\':
			esc, in = true, true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// expand substitutes variables as systemd does on a command line: a word that is only
// $NAME becomes the value's words (none if empty), ${NAME} one word; inside a word both
// are replaced by the value.
func expand(args []string, env map[string]string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "$") && !strings.HasPrefix(a, "${") && isName(a[1:]) {
			out = append(out, strings.Fields(env[a[1:]])...)
			continue
		}
		var b strings.Builder
		for i := 0; i < len(a); i++ {
			if a[i] != '$' || i+1 == len(a) {
				b.WriteByte(a[i])
				continue
			}
			if a[i+1] == '{' {
				if end := strings.IndexByte(a[i:], '}'); end > 0 {
					b.WriteString(env[a[i+2:i+end]])
					i += end
					continue
				}
			}
			j := i + 1
			for j < len(a) && (a[j] == '_' || a[j] >= 'A' && a[j] <= 'Z' || a[j] >= 'a' && a[j] <= 'z' || a[j] >= '0' && a[j] <= '9') {
				j++
			}
			if j == i+1 {
				b.WriteByte('$')
				continue
			}
			b.WriteString(env[a[i+1:j]])
			i = j - 1
		}
		out = append(out, b.String())
	}
	return out
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseEnv reads an environment file as systemd (EnvironmentFile=) and the init scripts
// (which source it) agree on: KEY=VALUE lines, # comments, optional export, quotes.
func parseEnv(text string) map[string]string {
	env := map[string]string{}
	for _, line := range joinContinued(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !isName(k) {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		env[k] = v
	}
	return env
}
