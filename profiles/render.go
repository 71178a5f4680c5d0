package profiles

import (
	"bytes"
	"fmt"
	"strconv"
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

// Options choose the syntax of the output.
type Options struct {
	HAProxy hversion.V // target HAProxy version; zero means DefaultHAProxy
	Dist    string     // el6, el7, el8, el9 or debian (rsyslog/logrotate syntax); "" means DefaultDist
	Explain bool       // fill Output.Origins
}

// Origin says which profile field a line of haproxy.cfg came from.
type Origin struct {
	Line    int    // line in haproxy.cfg
	Field   string // e.g. listen[0].servers[2]
	Pos     Pos    // where that field was written (the nearest enclosing one when harpy filled it in)
	Default bool   // no profile wrote it: harpy's default
	Rule    string // for a line no field produces: why harpy writes it
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

// cfgWriter builds haproxy.cfg. Every value it writes was validated, and every word
// still passes cfgWord on its way out: a check that validation missed cannot add a
// line, a word or a comment to the config.
type cfgWriter struct {
	b       bytes.Buffer
	v       hversion.V
	p       *Profile
	err     error
	origins *[]Origin // non-nil when explaining
	lineNo  int       // lines written so far
	// mixed: some proxy runs in another mode than defaults, so the mode-specific log
	// and forwardfor options go into each proxy instead (HAProxy warns otherwise).
	mixed bool
}

// src is what a line of haproxy.cfg comes from: a profile field, or (rule set) none, a
// default of harpy's, for the reason rule gives. Every line is written with its source
// in the same call, so --explain cannot credit a line to the field written before it.
type src struct{ field, rule string }

// from is a line a profile field produced (or its default, when the profile leaves the
// field out).
func from(field string) src { return src{field: field} }

// byRule is a line no field produced: harpy writes it always, for the reason given.
func byRule(rule string) src { return src{rule: rule} }

func (w *cfgWriter) section(from src, head ...string) {
	if !w.words(from, head) {
		return
	}
	if w.b.Len() > 0 {
		w.b.WriteByte('\n')
		w.lineNo++
	}
	w.record(from)
	w.b.WriteString(strings.Join(head, " "))
	w.b.WriteByte('\n')
	w.lineNo++
}

// maxWords is HAProxy's MAX_LINE_ARGS: words beyond it are cut off.
const maxWords = 64

// words is the renderer's choke point: every word of every line passes it. It refuses
// (with the field the line comes from) a word HAProxy would not read back as exactly
// that one word, and a line longer than HAProxy reads.
func (w *cfgWriter) words(from src, words []string) bool {
	if w.err != nil {
		return false
	}
	fail := func(msg string) bool {
		pos, _ := w.pos(from.field)
		field := displayField(from.field)
		if field == "" {
			field = "harpy default (" + from.rule + ")"
		}
		w.err = hint.Input(hint.With(fmt.Errorf("render %s: %s: %s: %s", printable(w.p.Name), pos, field, msg),
			"write the value as one word of printable ASCII without blanks, quotes, '#' or '\\' (docs/profiles.md)"))
		return false
	}
	if len(words) > maxWords {
		return fail(fmt.Sprintf("the line would have %d words; HAProxy reads at most %d", len(words), maxWords))
	}
	for _, s := range words {
		if err := cfgWord(s); err != nil {
			return fail(err.Error())
		}
	}
	return true
}

// cfgWord returns why s is not exactly one word of haproxy.cfg as HAProxy's tokenizer
// (parse_line) reads it outside quotes, or nil. Only printable ASCII is written;
// blanks, quotes and '#' would split the word, start a string or a comment; CR, LF
// and NUL end the line. A backslash is allowed only in the escapes harpy writes itself:
// "\ " (a blank inside the word), "\r", "\n" (inside an httpchk version string) and
// "\1"…"\9" (regex back-references). '$' is literal outside double quotes.
func cfgWord(s string) error {
	if s == "" {
		return fmt.Errorf("empty word")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("%q has a control character (0x%02x) at byte %d", s, c, i+1)
		case c >= 0x80:
			return fmt.Errorf("%q has a non-ASCII byte at byte %d", s, i+1)
		case c == ' ':
			return fmt.Errorf("%q has a blank at byte %d, which would split it in two words", s, i+1)
		case c == '#':
			return fmt.Errorf("%q has '#' at byte %d, which would start a comment", s, i+1)
		case c == '"' || c == '\'':
			return fmt.Errorf("%q has a quote at byte %d", s, i+1)
		case c == '\\':
			if i+1 == len(s) || !strings.ContainsRune(" rn123456789", rune(s[i+1])) {
				return fmt.Errorf("%q has a '\\' at byte %d that is not an escape harpy writes", s, i+1)
			}
			i++
		}
	}
	return nil
}

func (w *cfgWriter) record(from src) {
	if w.origins == nil {
		return
	}
	if from.field == "" {
		*w.origins = append(*w.origins, Origin{Line: w.lineNo + 1, Pos: Pos{File: w.p.Name}, Default: true, Rule: from.rule})
		return
	}
	pos, ok := w.pos(from.field)
	if !ok {
		pos = Pos{File: w.p.Name}
	}
	*w.origins = append(*w.origins, Origin{Line: w.lineNo + 1, Field: displayField(from.field), Pos: pos, Default: !ok})
}

// pos finds where a field was written; a profile built in code has no positions.
func (w *cfgWriter) pos(field string) (Pos, bool) {
	if w.p.pos == nil {
		return Pos{File: w.p.Name}, false
	}
	return w.p.pos(field)
}

// line writes one directive and records where it came from.
func (w *cfgWriter) line(from src, words ...string) {
	if !w.words(from, words) {
		return
	}
	w.record(from)
	w.b.WriteString("    ")
	w.b.WriteString(strings.Join(words, " "))
	w.b.WriteByte('\n')
	w.lineNo++
}

// need refuses a feature the target version lacks.
func (w *cfgWriter) need(field string, major, minor int, what string) bool {
	if w.v.AtLeast(major, minor) {
		return true
	}
	if w.err == nil {
		pos, _ := w.pos(field)
		w.err = hint.Input(hint.With(fmt.Errorf("render %s for HAProxy %s: %s: %s: %s needs HAProxy %d.%d+", printable(w.p.Name), w.v, pos, displayField(field), what, major, minor),
			"target HAProxy %d.%d or later (--haproxy), or remove %s from the profile", major, minor, displayField(field)))
	}
	return false
}

func renderCfg(p *Profile, v hversion.V, explain bool, origins *[]Origin) ([]byte, error) {
	w := &cfgWriter{v: v, p: p}
	if explain {
		w.origins = origins
	}
	for _, list := range [][]*Proxy{p.Frontends, p.Backends, p.Listens} {
		for _, px := range list {
			if !px.Drop && px.Mode != "" && px.Mode != p.effectiveMode(&Proxy{}) {
				w.mixed = true
			}
		}
	}
	fmt.Fprintf(&w.b, "# Generated by harpy from profile %q for HAProxy %s. Edit the profile, not this file.\n", safeComment(p.Name), v)
	w.lineNo = 1
	w.global()
	w.defaults()
	for _, name := range sortedKeys(p.Resolvers) {
		w.resolvers(name, p.Resolvers[name])
	}
	for i, px := range p.Frontends {
		w.proxy("frontend", fmt.Sprintf("frontend.%d", i), px)
	}
	for i, px := range p.Backends {
		w.proxy("backend", fmt.Sprintf("backend.%d", i), px)
	}
	for i, px := range p.Listens {
		w.proxy("listen", fmt.Sprintf("listen.%d", i), px)
	}
	w.stats()
	if w.err != nil {
		return nil, w.err
	}
	return w.b.Bytes(), nil
}

// safeComment keeps a file name from breaking out of the header comment.
func safeComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func (w *cfgWriter) global() {
	g := &w.p.Global
	w.section(from("global"), "global")
	if g.Log != nil {
		words := []string{"log", g.Log.Target, g.Log.Facility}
		if g.Log.Level != "" {
			words = append(words, g.Log.Level)
		}
		w.line(from("global.log"), words...)
	}
	if g.Chroot != "" {
		w.line(from("global.chroot"), "chroot", g.Chroot)
	}
	if g.Pidfile != "" {
		w.line(from("global.pidfile"), "pidfile", g.Pidfile)
	}
	if g.Maxconn > 0 {
		w.line(from("global.maxconn"), "maxconn", strconv.Itoa(g.Maxconn))
	}
	if g.User != "" {
		w.line(from("global.user"), "user", g.User)
	}
	if g.Group != "" {
		w.line(from("global.group"), "group", g.Group)
	}
	switch g.Mode {
	case "", "daemon":
		w.line(from("global.mode"), "daemon")
	case "master-worker":
		if w.need("global.mode", 1, 8, "master-worker") {
			w.line(from("global.mode"), "master-worker")
		}
	}
	if g.Nbthread > 64 {
		// Before thread groups (2.7) a thread is a bit in a 64-bit mask.
		w.need("global.nbthread", 2, 7, "more than 64 threads")
	}
	if g.Nbthread > 0 && w.need("global.nbthread", 1, 8, "nbthread") {
		w.line(from("global.nbthread"), "nbthread", strconv.Itoa(g.Nbthread))
	}
	if s := g.StatsSocket; s != nil {
		words := []string{"stats", "socket", s.Path}
		if s.Mode != "" {
			words = append(words, "mode", s.Mode)
		}
		if s.Level != "" {
			words = append(words, "level", s.Level)
		}
		// Lets a reload take the listening sockets from the old process (haproxy -x, the
		// el6 init script does it), so no connection is refused while both run. 1.8+,
		// admin level only.
		if s.Level == "admin" && w.v.AtLeast(1, 8) {
			words = append(words, "expose-fd", "listeners")
		}
		w.line(from("global.stats_socket"), words...)
	}
}

func (w *cfgWriter) defaults() {
	d := &w.p.Defaults
	w.section(from("defaults"), "defaults")
	mode := d.Mode
	if mode == "" {
		mode = "http"
	}
	w.line(from("defaults.mode"), "mode", mode)
	w.line(byRule("every proxy logs to global.log"), "log", "global")
	if !w.mixed {
		w.modeOptions(from("defaults.mode"), mode, true)
	}
	if d.Dontlognull == nil || *d.Dontlognull {
		w.line(from("defaults.dontlognull"), "option", "dontlognull")
	}
	if d.DontlogNormal {
		w.line(from("defaults.dontlog_normal"), "option", "dontlog-normal")
	}
	if d.LogHealthChecks {
		w.line(from("defaults.log_health_checks"), "option", "log-health-checks")
	}
	if mode == "http" && d.HTTPKeepAlive {
		w.line(from("defaults.http_keep_alive"), "option", "http-keep-alive")
	}
	if !w.mixed {
		w.idleClose(mode, true)
	}
	if !w.mixed {
		w.forwardfor(mode)
	}
	if d.Redispatch == nil || *d.Redispatch {
		// "1": redispatch on every retry, so a dead server costs no request.
		w.line(from("defaults.redispatch"), "option", "redispatch", "1")
	}
	if d.Retries > 0 {
		w.line(from("defaults.retries"), "retries", strconv.Itoa(d.Retries))
	}
	if w.retryOn() {
		// retry-on exists from 2.0; older versions retry connection failures only.
		w.line(from("defaults.retry_on"), append([]string{"retry-on"}, strings.Fields(d.RetryOn)...)...)
	}
	t := d.Timeout
	for _, x := range []struct{ k, v, def string }{
		{"http-request", t.HTTPRequest, ""}, {"queue", t.Queue, ""}, {"connect", t.Connect, "5s"},
		{"client", t.Client, "1m"}, {"server", t.Server, "1m"}, {"http-keep-alive", t.HTTPKeepAlive, ""},
		{"check", t.Check, ""}, {"tunnel", t.Tunnel, ""},
	} {
		val := x.v
		if val == "" {
			val = x.def
		}
		if val == "" || mode != "http" && strings.HasPrefix(x.k, "http-") {
			continue
		}
		w.line(from("defaults.timeout."+strings.ReplaceAll(x.k, "-", "_")), "timeout", x.k, val)
	}
	if d.Maxconn > 0 {
		w.line(from("defaults.maxconn"), "maxconn", strconv.Itoa(d.Maxconn))
	}
}

// modeOptions writes the log format of a proxy that logs (frontend, listen, defaults).
func (w *cfgWriter) modeOptions(from src, mode string, logs bool) {
	if !logs {
		return
	}
	if mode == "http" {
		w.line(from, "option", "httplog")
	} else {
		w.line(from, "option", "tcplog")
	}
}

func (w *cfgWriter) forwardfor(mode string) {
	d := &w.p.Defaults
	switch {
	case mode != "http":
	case d.ForwardforExcept != "":
		w.line(from("defaults.forwardfor_except"), "option", "forwardfor", "except", d.ForwardforExcept)
	case d.Forwardfor:
		w.line(from("defaults.forwardfor"), "option", "forwardfor")
	}
}

// idleClose emits idle-close-on-response (2.6+, http, client side only): HAProxy warns
// when a tcp proxy inherits it.
func (w *cfgWriter) idleClose(mode string, clientSide bool) {
	if mode == "http" && clientSide && w.p.Defaults.IdleCloseOnResponse && w.v.AtLeast(2, 6) {
		w.line(from("defaults.idle_close_on_response"), "option", "idle-close-on-response")
	}
}

// retryOn reports whether defaults carry a retry-on line (2.0+, mode http).
func (w *cfgWriter) retryOn() bool {
	d := &w.p.Defaults
	return d.RetryOn != "" && w.v.AtLeast(2, 0) && (d.Mode == "" || d.Mode == "http")
}

func (w *cfgWriter) resolvers(name string, r *Resolvers) {
	path := "resolvers." + name
	w.section(from("resolvers."+name), "resolvers", name)
	for i, ns := range r.Nameservers {
		w.line(from(fmt.Sprintf("resolvers.%s.nameservers.%d", name, i)), "nameserver", fmt.Sprintf("ns%d", i+1), mustAddress(ns, ruleNameserver))
	}
	if r.ParseResolvConf && w.need(path+".parse_resolv_conf", 1, 9, "parse-resolv-conf") {
		w.line(from(path+".parse_resolv_conf"), "parse-resolv-conf")
	}
	if r.AcceptedPayloadSize > 0 && w.need(path+".accepted_payload_size", 1, 8, "accepted_payload_size") {
		w.line(from(path+".accepted_payload_size"), "accepted_payload_size", strconv.Itoa(r.AcceptedPayloadSize))
	}
	retries := r.ResolveRetries
	if retries == 0 {
		retries = 3
	}
	w.line(from(path+".resolve_retries"), "resolve_retries", strconv.Itoa(retries))
	if r.TimeoutResolve != "" && w.need(path+".timeout_resolve", 1, 8, "timeout resolve") {
		w.line(from(path+".timeout_resolve"), "timeout", "resolve", r.TimeoutResolve)
	}
	retry := r.TimeoutRetry
	if retry == "" {
		retry = "1s"
	}
	w.line(from(path+".timeout_retry"), "timeout", "retry", retry)
	hold := r.Hold
	if hold == "" {
		hold = "10s"
	}
	w.line(from(path+".hold"), "hold", "valid", hold)
}

// bindWord writes a bind address without IPv6 brackets, which HAProxy before 2.x may not
// take; the port is after the last colon either way.
func bindWord(s string) string { return mustAddress(s, ruleBind) }

func (w *cfgWriter) proxy(kind, path string, px *Proxy) {
	if px.Drop {
		return
	}
	w.section(from(path+".name"), kind, px.Name)
	for i, b := range px.Bind {
		w.line(from(fmt.Sprintf("%s.bind.%d", path, i)), "bind", bindWord(b))
	}
	mode := w.p.effectiveMode(px)
	if px.Mode != "" {
		w.line(from(path+".mode"), "mode", px.Mode)
	}
	if px.Maxconn > 0 {
		w.line(from(path+".maxconn"), "maxconn", strconv.Itoa(px.Maxconn))
	}
	if w.mixed {
		modeFrom := from("defaults.mode")
		if px.Mode != "" {
			modeFrom = from(path + ".mode")
		}
		w.modeOptions(modeFrom, mode, kind != "backend")
		w.forwardfor(mode)
		w.idleClose(mode, kind != "backend")
	}
	if kind != "frontend" {
		w.backendOptions(path, px, mode)
	}
	for i, a := range px.ACL {
		w.line(from(fmt.Sprintf("%s.acl.%d", path, i)), "acl", a.Name, a.Criterion, a.Value)
	}
	if kind != "frontend" && px.StripPrefix != "" {
		w.stripPrefix(from(path+".strip_prefix"), px.StripPrefix)
	}
	if kind != "frontend" && mode == "http" && w.retryOn() {
		// Retrying after the request was sent may run a POST twice.
		w.line(from("defaults.retry_on"), "http-request", "disable-l7-retry", "if", "METH_POST")
	}
	for i, u := range px.UseBackend {
		w.line(from(fmt.Sprintf("%s.use_backend.%d", path, i)), append([]string{"use_backend", u.Backend, "if"}, u.If...)...)
	}
	if px.DefaultBackend != "" {
		w.line(from(path+".default_backend"), "default_backend", px.DefaultBackend)
	}
	if kind != "frontend" {
		w.servers(path, px)
	}
}

// stripPrefix removes a path prefix (validated: /word/…/) before the request goes to a
// server, in the form the target supports.
func (w *cfgWriter) stripPrefix(from src, prefix string) {
	switch {
	case w.v.AtLeast(2, 2):
		w.line(from, "http-request", "replace-path", "^"+prefix+"(.*)", `/\1`)
	case w.v.AtLeast(2, 1):
		// reqrep is gone in 2.1 and replace-path arrives in 2.2.
		w.line(from, "http-request", "set-path", "%[path,regsub(^"+prefix+",/)]")
	default:
		// The request line is "METHOD URI VERSION"; a blank is written "\ " in a word.
		w.line(from, "reqrep", `^([^\ :]*)\ `+prefix+`(.*)`, `\1\ /\2`)
	}
}

func (w *cfgWriter) backendOptions(path string, px *Proxy, mode string) {
	if px.Balance != "" {
		if px.Balance == "random" {
			w.need(path+".balance", 1, 9, "balance random")
		}
		w.line(from(path+".balance"), "balance", px.Balance)
	}
	h := px.Health
	if h == nil || h.Disabled {
		return
	}
	switch h.kind() {
	case "mysql":
		w.line(from(path+".health.mysql_user"), "option", "mysql-check", "user", h.MySQLUser)
	case "http":
		method := h.Method
		if method == "" {
			method = "GET"
		}
		if w.v.AtLeast(2, 2) {
			w.line(from(path+".health.path"), "option", "httpchk")
			words := []string{"http-check", "send", "meth", method, "uri", h.Path}
			if h.Host != "" {
				words = append(words, "ver", "HTTP/1.1", "hdr", "Host", h.Host)
			}
			w.line(from(path+".health.path"), words...)
		} else if h.Host != "" {
			// Before 2.2 the only way to send a Host header is inside the version word.
			w.line(from(path+".health.host"), "option", "httpchk", method, h.Path, `HTTP/1.1\r\nHost:\ `+h.Host)
		} else {
			w.line(from(path+".health.path"), "option", "httpchk", method, h.Path)
		}
		switch {
		case h.ExpectStatus != 0:
			w.line(from(path+".health.expect_status"), "http-check", "expect", "status", strconv.Itoa(h.ExpectStatus))
		case h.ExpectString != "":
			w.line(from(path+".health.expect_string"), "http-check", "expect", "string", h.ExpectString)
		case h.ExpectRegex != "":
			w.line(from(path+".health.expect_rstring"), "http-check", "expect", "rstring", h.ExpectRegex)
		}
	}
}

func (w *cfgWriter) serverParams(path string, px *Proxy) []string {
	var words []string
	h := px.Health
	if h != nil && !h.Disabled {
		words = append(words, "check")
		if h.Port > 0 {
			words = append(words, "port", strconv.Itoa(h.Port))
		}
		if h.Inter != "" {
			words = append(words, "inter", h.Inter)
		}
		if h.Fall > 0 {
			words = append(words, "fall", strconv.Itoa(h.Fall))
		}
		if h.Rise > 0 {
			words = append(words, "rise", strconv.Itoa(h.Rise))
		}
	}
	if px.Resolvers != "" {
		if !w.v.AtLeast(1, 7) && (h == nil || h.Disabled) {
			w.need(path+".resolvers", 1, 7, "resolvers without health checks (1.6 resolves only for servers with check)")
		}
		words = append(words, "resolvers", px.Resolvers)
	}
	initAddr := px.InitAddr
	if initAddr != "" {
		w.need(path+".init_addr", 1, 7, "init-addr")
	} else if px.Resolvers != "" && w.v.AtLeast(1, 7) {
		// Start even when a name does not resolve yet; the resolvers fill it in.
		initAddr = "last,libc,none"
	}
	if initAddr != "" && w.v.AtLeast(1, 7) {
		words = append(words, "init-addr", initAddr)
	}
	return words
}

func (w *cfgWriter) servers(path string, px *Proxy) {
	common := w.serverParams(path, px)
	for i, s := range px.Servers {
		words := []string{"server", s.Name, mustAddress(s.Address, ruleServer)}
		words = append(words, common...)
		if s.Weight != nil {
			words = append(words, "weight", strconv.Itoa(*s.Weight))
		}
		if s.Maxconn > 0 {
			words = append(words, "maxconn", strconv.Itoa(s.Maxconn))
		}
		if s.Backup {
			words = append(words, "backup")
		}
		if s.Disabled {
			words = append(words, "disabled")
		}
		w.line(from(fmt.Sprintf("%s.servers.%d", path, i)), words...)
	}
	if t := px.ServerTemplate; t != nil && w.need(path+".server_template", 1, 8, "server-template") {
		words := []string{"server-template", t.Prefix, strconv.Itoa(t.Count), t.Address}
		w.line(from(path+".server_template"), append(words, common...)...)
	}
}

func (w *cfgWriter) stats() {
	s := w.p.Stats
	if s == nil || s.Disabled {
		return
	}
	// Its own listen in mode http: stats inside a mode tcp proxy are silently ignored.
	w.section(from("stats"), "listen", "stats")
	w.line(from("stats.bind"), "bind", bindWord(s.Bind))
	w.line(byRule("the stats page is a listen of its own in mode http: HAProxy ignores stats in mode tcp"), "mode", "http")
	w.line(from("stats"), "stats", "enable")
	uri := s.URI
	if uri == "" {
		uri = "/stats"
	}
	w.line(from("stats.uri"), "stats", "uri", uri)
	if s.Refresh != "" {
		w.line(from("stats.refresh"), "stats", "refresh", s.Refresh)
	}
	if s.Auth != "" {
		w.line(from("stats.auth"), "stats", "auth", s.Auth)
	}
	if s.Admin {
		w.line(from("stats.admin"), "stats", "admin", "if", "TRUE")
	}
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
