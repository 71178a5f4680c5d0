package livetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// webLB is one web load balancer under test: real nginx backends, a real rsyslogd and
// haproxy on a config (the rendered profile or the seed's own).
type webLB struct {
	Name     string // "harpy-profile", "seed-001"
	HAProxy  *HAProxy
	URL      string // http://frontend
	Backend  string // backend (proxy) name in show stat
	Backends []*Nginx
	Rsyslog  *Rsyslog
	LogFile  string        // where rsyslogd writes HAProxy's lines
	Inter    time.Duration // health-check interval of the servers
	Fall     int
	Rise     int
}

// failoverResult is what one failover run measured.
type failoverResult struct {
	Wrk  WrkResult
	Down time.Duration // from the kill to DOWN in show stat
	Up   time.Duration // from the restart to UP in show stat
}

func (r failoverResult) figure(scenario, config string) string {
	return fmt.Sprintf("FIGURE scenario=%s config=%s requests=%d rps=%.0f failed=%d non2xx=%d sockerr=%d down_s=%.2f up_s=%.2f",
		scenario, config, r.Wrk.Requests, r.Wrk.ReqPerSec, r.Wrk.Failed(), r.Wrk.Non2xx,
		r.Wrk.Connect+r.Wrk.Read+r.Wrk.Write+r.Wrk.Timeout, r.Down.Seconds(), r.Up.Seconds())
}

// failoverLoad is the load of the measurement: wrk -t2 -c50 -d20s, one backend
// killed at 6 s and started again at 12 s (or once HAProxy has marked it DOWN, if later).
var failoverLoad = struct {
	Threads, Conns int
	Duration       time.Duration
	KillAt         time.Duration
	RestartAt      time.Duration
}{2, 50, 20 * time.Second, 6 * time.Second, 12 * time.Second}

// runFailover runs wrk against lb, kills the first backend (SIGKILL to nginx's master and
// worker) at KillAt, restarts it at RestartAt (or when it is DOWN, if later) and measures.
func runFailover(tb testing.TB, lb *webLB) failoverResult {
	tb.Helper()
	wrkBin := Tool(tb, "wrk", "wrk")
	ctx, cancel := context.WithTimeout(context.Background(), failoverLoad.Duration+90*time.Second)
	defer cancel()
	victim := lb.Backends[0]

	// Every backend checked and UP before the load starts.
	for _, n := range lb.Backends {
		wctx, wcancel := context.WithTimeout(ctx, lb.Inter*2+5*time.Second)
		err := lb.HAProxy.WaitChecked(wctx, lb.Backend, n.Name)
		wcancel()
		if err != nil {
			tb.Fatal(err)
		}
	}
	type wrkOut struct {
		r   WrkResult
		out []byte
		err error
	}
	wrkDone := make(chan wrkOut, 1)
	start := time.Now()
	go func() {
		r, out, err := Wrk{URL: lb.URL + "/load", Threads: failoverLoad.Threads, Conns: failoverLoad.Conns,
			Duration: failoverLoad.Duration}.Run(ctx, wrkBin)
		wrkDone <- wrkOut{r, out, err}
	}()

	var res failoverResult
	sleepUntil(ctx, start.Add(failoverLoad.KillAt))
	victim.Kill()
	// The first failing check comes within one inter of the kill, so DOWN is due within
	// inter×fall; the second of margin covers polling and scheduling on a loaded machine.
	downBound := lb.Inter*time.Duration(lb.Fall) + time.Second
	dctx, dcancel := context.WithTimeout(ctx, downBound)
	d, err := lb.HAProxy.WaitStatus(dctx, lb.Backend, victim.Name, "DOWN")
	dcancel()
	if err != nil {
		tb.Errorf("%s: after killing %s: %v (bound inter×fall+1s = %s)", lb.Name, victim.Name, err, downBound)
	}
	res.Down = d
	// Nor before fall checks failed: one failed check must not take a server out.
	if err == nil && d < lb.Inter*time.Duration(lb.Fall-1)-200*time.Millisecond {
		tb.Errorf("%s: %s DOWN %s after the kill, before fall=%d checks at inter %s could fail", lb.Name, victim.Name, d, lb.Fall, lb.Inter)
	}

	sleepUntil(ctx, start.Add(failoverLoad.RestartAt))
	victim.Start()
	upBound := lb.Inter*time.Duration(lb.Rise) + time.Second
	uctx, ucancel := context.WithTimeout(ctx, upBound)
	u, err := lb.HAProxy.WaitStatus(uctx, lb.Backend, victim.Name, "UP")
	ucancel()
	if err != nil {
		tb.Errorf("%s: after restarting %s: %v (bound inter×rise+1s = %s)", lb.Name, victim.Name, err, upBound)
	}
	res.Up = u
	if err == nil && u < lb.Inter*time.Duration(lb.Rise-1)-200*time.Millisecond {
		tb.Errorf("%s: %s UP %s after the restart, before rise=%d checks at inter %s could pass", lb.Name, victim.Name, u, lb.Rise, lb.Inter)
	}

	w := <-wrkDone
	if w.err != nil {
		tb.Fatalf("%s: %v", lb.Name, w.err)
	}
	res.Wrk = w.r
	tb.Logf("%s: wrk: %s", lb.Name, w.r)
	return res
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// startSeed001 starts seed 001's own configuration (haproxy.cfg and rsyslog drop-in) on
// loopback, with two nginx backends: the baseline the web-lb profile is measured against.
func startSeed001(tb testing.TB) *webLB {
	tb.Helper()
	bin := DebianHAProxy(tb)
	drop, err := os.ReadFile("testdata/seed001-rsyslog.conf")
	if err != nil {
		tb.Fatal(err)
	}
	rs := StartRsyslog(tb, drop)
	backends := []*Nginx{StartNginx(tb, "web10", "127.0.0.10"), StartNginx(tb, "web11", "127.0.0.11")}
	dir := MkdirAll(tb, filepath.Join(tb.TempDir(), "haproxy"))
	data := struct {
		Syslog, Dir, Socket, Bind string
		Servers                   []struct{ Name, Addr string }
	}{Syslog: rs.Addr(), Dir: dir, Socket: filepath.Join(SocketDir(tb), "stats"), Bind: FreeAddr(tb, "127.0.0.1")}
	for _, n := range backends {
		data.Servers = append(data.Servers, struct{ Name, Addr string }{n.Name, n.Addr})
	}
	tmpl := template.Must(template.ParseFiles("testdata/seed001-haproxy.cfg.tmpl"))
	var cfg bytes.Buffer
	if err := tmpl.Execute(&cfg, data); err != nil {
		tb.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	writeFile(tb, cfgPath, cfg.String())
	logFile := rs.WaitReady(tb, "local6")
	h := StartHAProxy(tb, bin, cfgPath, data.Socket, data.Bind)
	return &webLB{
		Name: "seed-001", HAProxy: h, URL: "http://" + data.Bind, Backend: "hoge",
		Backends: backends, Rsyslog: rs, LogFile: logFile,
		Inter: 3 * time.Second, Fall: 2, Rise: 2,
	}
}

// healthLines returns the lines of the HAProxy log that mention server's health.
func healthLines(tb testing.TB, lb *webLB, server string) []string {
	tb.Helper()
	b, err := os.ReadFile(lb.LogFile)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "server "+lb.Backend+"/"+server) || strings.Contains(l, "Server "+lb.Backend+"/"+server) {
			out = append(out, l)
		}
	}
	return out
}

// webLBUser is the user profile the web-lb scenario renders: it extends the embedded
// web-lb and overrides, by name, only what a loopback test must — where logs, pid file
// and stats socket go, the frontend's address, the servers' addresses — plus the
// forwardfor exemption (the profile exempts 127.0.0.0/8, and every client of a loopback
// test is there: the test narrows it to 127.0.0.1 and sends its XFF probe from 127.0.0.5).
const webLBUser = `extends = "web-lb"

[global]
log = { target = "{{.Syslog}}", facility = "local6", level = "info" }
pidfile = "{{.Dir}}/haproxy.pid"
stats_socket = { path = "{{.Socket}}", mode = "600", level = "admin" }

[defaults]
forwardfor_except = "127.0.0.1/32"

[logging]
file = "{{.LogDir}}/haproxy/haproxy.log"

[[frontend]]
name = "main"
bind = ["{{.Bind}}"]

[[backend]]
name = "app"
servers = [
{{- range .Servers}}
  { name = "{{.Name}}", address = "{{.Addr}}" },
{{- end}}
]
`

// startWebLBProfile renders the web-lb profile (through a user profile that extends it)
// and runs it: two nginx backends, the rendered rsyslog drop-in in a real rsyslogd, and
// Debian's haproxy on the rendered haproxy.cfg.
func startWebLBProfile(tb testing.TB) *webLB {
	return startWebLBProfileOn(tb, "harpy-profile", DebianHAProxy(tb), "2.6", cfgEdit{})
}

// cfgEdit changes one line of a rendered haproxy.cfg for the benchmark's ablation rows,
// which show what a directive earns: Delete removes a line; Insert adds one after After.
type cfgEdit struct{ Delete, After, Insert string }

func (e cfgEdit) apply(tb testing.TB, cfg string) {
	tb.Helper()
	c := readFile(tb, cfg)
	for _, l := range []string{e.Delete, e.After} {
		if l != "" && !strings.Contains(c, "\n    "+l+"\n") {
			tb.Fatalf("rendered %s has no line %q:\n%s", cfg, l, c)
		}
	}
	if e.Delete != "" {
		c = strings.Replace(c, "\n    "+e.Delete+"\n", "\n", 1)
	}
	if e.After != "" {
		c = strings.Replace(c, "\n    "+e.After+"\n", "\n    "+e.After+"\n    "+e.Insert+"\n", 1)
	}
	writeFile(tb, cfg, c)
}

// startWebLBProfileEdited is startWebLBProfile with an edit of the rendered haproxy.cfg.
func startWebLBProfileEdited(tb testing.TB, name string, e cfgEdit) *webLB {
	return startWebLBProfileOn(tb, name, DebianHAProxy(tb), "2.6", e)
}

// startWebLBProfileOn runs the profile rendered for version on the haproxy binary bin,
// with edit applied to the rendered config.
func startWebLBProfileOn(tb testing.TB, name, bin, version string, edit cfgEdit) *webLB {
	tb.Helper()
	rs := NewRsyslog(tb)
	backends := []*Nginx{StartNginx(tb, "web10", "127.0.0.10"), StartNginx(tb, "web11", "127.0.0.11")}
	dir := MkdirAll(tb, filepath.Join(tb.TempDir(), "haproxy"))
	data := struct {
		Syslog, Dir, Socket, LogDir, Bind string
		Servers                           []struct{ Name, Addr string }
	}{Syslog: rs.Addr(), Dir: dir, Socket: filepath.Join(SocketDir(tb), "stats"), LogDir: rs.LogDir, Bind: FreeAddr(tb, "127.0.0.1")}
	for _, n := range backends {
		data.Servers = append(data.Servers, struct{ Name, Addr string }{n.Name, n.Addr})
	}
	p, out, cfg := renderUserFor(tb, version, dir, webLBUser, data)
	inter, fall, rise := checkTiming(tb, p, "app")
	edit.apply(tb, cfg)
	rs.Start(tb, out.Rsyslog)
	logFile := rs.WaitReady(tb, "local6")
	h := StartHAProxy(tb, bin, cfg, data.Socket, data.Bind)
	return &webLB{
		Name: name, HAProxy: h, URL: "http://" + data.Bind, Backend: "app",
		Backends: backends, Rsyslog: rs, LogFile: logFile,
		Inter: inter, Fall: fall, Rise: rise,
	}
}
