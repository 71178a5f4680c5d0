package livetest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// Nginx is a real nginx backend on a loopback address. It serves /health_check.html from a
// file (as in seed 001, so deleting the file fails the check), answers every other path with
// its own name and the X-Forwarded-For header it received, and logs those requests (but not
// the load path /load) with X-Forwarded-For to access.log.
type Nginx struct {
	Name string
	Addr string // ip:port
	Dir  string

	tb   testing.TB
	bin  string
	proc *Proc
}

var nginxConf = template.Must(template.New("nginx.conf").Parse(`daemon off;
master_process on;
worker_processes 1;
user root;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 4096; }
http {
    default_type text/plain;
    log_format xff '$remote_addr "$request" $status xff="$http_x_forwarded_for" ua="$http_user_agent"';
    map $uri $loggable { /load 0; default 1; }
    access_log {{.Dir}}/access.log xff if=$loggable;
    client_body_temp_path {{.Dir}}/tmp/body;
    proxy_temp_path {{.Dir}}/tmp/proxy;
    fastcgi_temp_path {{.Dir}}/tmp/fastcgi;
    uwsgi_temp_path {{.Dir}}/tmp/uwsgi;
    scgi_temp_path {{.Dir}}/tmp/scgi;
    keepalive_requests 1000000;
    server {
        listen {{.Addr}} backlog=4096;
        root {{.Dir}}/www;
        location = /health_check.html { }
        location / {
            add_header X-Backend {{.Name}} always;
            return 200 "backend={{.Name}} xff=$http_x_forwarded_for uri=$request_uri\n";
        }
    }
}
`))

// StartNginx starts an nginx named name on ip (a free port) and waits until it serves.
func StartNginx(tb testing.TB, name, ip string) *Nginx {
	tb.Helper()
	n := &Nginx{
		Name: name,
		Addr: FreeAddr(tb, ip),
		Dir:  filepath.Join(tb.TempDir(), "nginx-"+name),
		tb:   tb,
		bin:  Tool(tb, "nginx", "nginx-light"),
	}
	for _, d := range []string{"www", "tmp"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	var conf strings.Builder
	if err := nginxConf.Execute(&conf, n); err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, filepath.Join(n.Dir, "nginx.conf"), conf.String())
	n.SetHealthy(true)
	n.Start()
	return n
}

// Start starts (or restarts) nginx and waits until it accepts connections.
func (n *Nginx) Start() {
	n.tb.Helper()
	n.proc = StartProc(n.tb, "nginx "+n.Name, filepath.Join(n.Dir, "nginx.out"),
		n.bin, "-p", n.Dir, "-c", filepath.Join(n.Dir, "nginx.conf"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitProcTCP(ctx, n.proc, n.Addr); err != nil {
		n.tb.Fatalf("nginx %s: %v\n%s", n.Name, err, Tail(filepath.Join(n.Dir, "error.log"), 20))
	}
}

// Stop shuts nginx down (SIGTERM: fast shutdown, open connections are closed).
func (n *Nginx) Stop() { n.proc.Stop() }

// Kill simulates a crash of the master and its worker (SIGKILL to the process group).
func (n *Nginx) Kill() { n.proc.Kill() }

// SetHealthy creates or deletes health_check.html, so the health check answers 200 or 404.
func (n *Nginx) SetHealthy(ok bool) {
	n.tb.Helper()
	p := filepath.Join(n.Dir, "www", "health_check.html")
	if ok {
		writeFile(n.tb, p, "OK\n")
		return
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		n.tb.Fatal(err)
	}
}

// AccessEntry is one logged request (the load path /load is not logged).
type AccessEntry struct {
	Request string // "GET /x HTTP/1.1"
	Status  string
	XFF     string
	UA      string
}

// AccessLog reads the access log written so far.
func (n *Nginx) AccessLog() []AccessEntry {
	n.tb.Helper()
	f, err := os.Open(filepath.Join(n.Dir, "access.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		n.tb.Fatal(err)
	}
	defer f.Close()
	var out []AccessEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if e, ok := parseAccess(sc.Text()); ok {
			out = append(out, e)
		}
	}
	return out
}

// parseAccess reads a line of the xff log format:
// 127.0.0.1 "GET / HTTP/1.1" 200 xff="10.1.2.3" ua="curl/7"
func parseAccess(line string) (AccessEntry, bool) {
	var e AccessEntry
	_, rest, ok := strings.Cut(line, ` "`)
	if !ok {
		return e, false
	}
	e.Request, rest, ok = strings.Cut(rest, `" `)
	if !ok {
		return e, false
	}
	e.Status, rest, _ = strings.Cut(rest, " ")
	e.XFF = quoted(rest, "xff=")
	e.UA = quoted(rest, "ua=")
	// nginx logs a missing header as "-".
	if e.XFF == "-" {
		e.XFF = ""
	}
	if e.UA == "-" {
		e.UA = ""
	}
	return e, true
}

func quoted(s, key string) string {
	_, v, ok := strings.Cut(s, key+`"`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}

// waitProcTCP waits for addr to accept connections, failing early if the process exits.
func waitProcTCP(ctx context.Context, p *Proc, addr string) error {
	var d net.Dialer
	for {
		if ok, err := p.Exited(); ok {
			return fmt.Errorf("%s exited before serving %s: %v\n%s", p.Name, addr, err, Tail(p.LogPath, 20))
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not serving %s: %w", p.Name, addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
