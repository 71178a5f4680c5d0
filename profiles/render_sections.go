package profiles

import (
	"fmt"
	"strconv"
	"strings"

	"harpy/hint"
)

func (w *cfgWriter) global() {
	g := &w.p.Global
	w.section(orDefault("global", "every haproxy.cfg has a global section"), "global")
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
		w.line(orDefault("global.mode", "runs in the background, as the init scripts and systemd unit expect"), "daemon")
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
	w.section(orDefault("defaults", "every haproxy.cfg has a defaults section"), "defaults")
	mode := d.Mode
	if mode == "" {
		mode = "http"
	}
	w.line(orDefault("defaults.mode", "http, HAProxy's own default mode"), "mode", mode)
	w.line(byRule("every proxy logs to global.log"), "log", "global")
	if !w.mixed {
		w.modeOptions(orDefault("defaults.mode", modeLogWhy), mode, true)
	}
	if d.Dontlognull == nil || *d.Dontlognull {
		w.line(orDefault("defaults.dontlognull", "connections that send nothing (port scans, other load balancers' probes) are not logged"), "option", "dontlognull")
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
		w.line(orDefault("defaults.redispatch", "every retry goes to another server, so a dead server costs no request"), "option", "redispatch", "1")
	}
	if d.Retries > 0 {
		w.line(from("defaults.retries"), "retries", strconv.Itoa(d.Retries))
	}
	if w.retryOn() {
		// retry-on exists from 2.0; older versions retry connection failures only.
		w.line(from("defaults.retry_on"), append([]string{"retry-on"}, strings.Fields(d.RetryOn)...)...)
	}
	t := d.Timeout
	for _, x := range []struct{ k, v, def, why string }{
		{"http-request", t.HTTPRequest, "", ""}, {"queue", t.Queue, "", ""},
		{"connect", t.Connect, "5s", "HAProxy warns without it; 5s covers a slow network, a dead server costs at most that"},
		{"client", t.Client, "1m", "HAProxy warns without it: an idle client is closed after a minute"},
		{"server", t.Server, "1m", "HAProxy warns without it: a server silent for a minute is given up"},
		{"http-keep-alive", t.HTTPKeepAlive, "", ""}, {"check", t.Check, "", ""}, {"tunnel", t.Tunnel, "", ""},
	} {
		val := x.v
		if val == "" {
			val = x.def
		}
		if val == "" || mode != "http" && strings.HasPrefix(x.k, "http-") {
			continue
		}
		w.line(orDefault("defaults.timeout."+strings.ReplaceAll(x.k, "-", "_"), x.why), "timeout", x.k, val)
	}
	if d.Maxconn > 0 {
		w.line(from("defaults.maxconn"), "maxconn", strconv.Itoa(d.Maxconn))
	}
}

// modeLogWhy is why a proxy logs in its mode's format when the profile names no mode.
const modeLogWhy = "mode http (HAProxy's default): requests are logged in the http format"

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
	if r.parseResolvConf() {
		if !w.v.AtLeast(1, 9) {
			if len(r.Nameservers) == 0 {
				w.noResolvConf(path, r)
			} else {
				w.need(path+".parse_resolv_conf", 1, 9, "parse-resolv-conf")
			}
			return
		}
		w.line(orDefault(path+".parse_resolv_conf", "no nameservers given: the host's resolver from /etc/resolv.conf (on AWS, the VPC's)"), "parse-resolv-conf")
	}
	if r.AcceptedPayloadSize > 0 && w.need(path+".accepted_payload_size", 1, 8, "accepted_payload_size") {
		w.line(from(path+".accepted_payload_size"), "accepted_payload_size", strconv.Itoa(r.AcceptedPayloadSize))
	}
	w.line(orDefault(path+".resolve_retries", "3 queries before a resolution counts as failed"), "resolve_retries", strconv.Itoa(or(r.ResolveRetries, 3)))
	if r.TimeoutResolve != "" && w.need(path+".timeout_resolve", 1, 8, "timeout resolve") {
		w.line(from(path+".timeout_resolve"), "timeout", "resolve", r.TimeoutResolve)
	}
	w.line(orDefault(path+".timeout_retry", "1s between two queries of one resolution"), "timeout", "retry", orStr(r.TimeoutRetry, "1s"))
	w.line(orDefault(path+".hold", "an answer is used 10s before the name is asked again"), "hold", "valid", orStr(r.Hold, "10s"))
	keep := "a DNS outage never takes a server down: its last good address is kept " + HoldKeep + " (HAProxy's own 30s puts every server in MAINT half a minute after the DNS server stops)"
	for _, x := range []struct{ field, status, val string }{
		{"hold_timeout", "timeout", r.HoldTimeout}, {"hold_refused", "refused", r.HoldRefused}, {"hold_other", "other", r.HoldOther},
	} {
		w.line(orDefault(path+"."+x.field, keep), "hold", x.status, orStr(x.val, HoldKeep))
	}
	w.line(orDefault(path+".hold_nx", "a name reported gone (NXDOMAIN: a deleted replica) keeps its address "+HoldNXDefault+", then the server goes to MAINT, so no traffic follows an address given to another machine"),
		"hold", "nx", orStr(r.HoldNX, HoldNXDefault))
	if w.v.AtLeast(1, 8) {
		w.line(orDefault(path+".hold_obsolete", "an address that left a valid answer is dropped at once: an A record changed by a fail-over moves traffic on the next resolution"),
			"hold", "obsolete", orStr(r.HoldObsolete, "0s"))
	} else if r.HoldObsolete != "" {
		w.need(path+".hold_obsolete", 1, 8, "hold obsolete")
	}
}

// noResolvConf refuses a resolvers section without nameservers for a version without
// parse-resolv-conf (before 1.9).
func (w *cfgWriter) noResolvConf(path string, r *Resolvers) {
	if w.err != nil {
		return
	}
	field := path
	if r.ParseResolvConf != nil {
		field = path + ".parse_resolv_conf"
	}
	pos, _ := w.pos(field)
	w.err = hint.Input(hint.With(fmt.Errorf("render %s for HAProxy %s: %s: %s: no nameservers, and HAProxy before 1.9 cannot read the host's /etc/resolv.conf (parse-resolv-conf)",
		printable(w.p.Name), w.v, pos, displayField(path)),
		"give explicit nameservers for HAProxy %s: nameservers = [\"IP:53\"] in [%s] (the address in /etc/resolv.conf), or target HAProxy 1.9 or later (--haproxy)", w.v, path))
}

func or(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
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
		modeFrom := orDefault("defaults.mode", modeLogWhy)
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
	w.line(orDefault("stats.uri", "the page at /stats"), "stats", "uri", uri)
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
