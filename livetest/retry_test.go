package livetest

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashBackend is an HTTP backend whose /die path reads the request and hangs up without
// answering, as a server crashing mid-request does; the health check page answers 200.
type crashBackend struct {
	Name, Addr string
	crash      bool

	mu   sync.Mutex
	seen map[string]int // "METHOD /path" → requests received
}

func startCrashBackend(tb testing.TB, name, ip string, crash bool) *crashBackend {
	tb.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	b := &crashBackend{Name: name, Addr: l.Addr().String(), crash: crash, seen: map[string]int{}}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return b
}

func (b *crashBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/health_check.html" {
		b.mu.Lock()
		b.seen[r.Method+" "+r.URL.Path]++
		b.mu.Unlock()
	}
	if b.crash && r.URL.Path == "/die" {
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	w.Write([]byte("ok from " + b.Name + "\n"))
}

func (b *crashBackend) count(k string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[k]
}

// TestWebLBRetries proves what the web-lb profile retries: a GET that meets a server
// hanging up without an answer is sent again to the other server and succeeds; a POST is
// never sent twice (`http-request disable-l7-retry if METH_POST`), its client gets the
// error instead.
func TestWebLBRetries(t *testing.T) {
	crasher := startCrashBackend(t, "web10", "127.0.0.12", true)
	healthy := startCrashBackend(t, "web11", "127.0.0.13", false)
	dir := MkdirAll(t, filepath.Join(t.TempDir(), "haproxy"))
	data := struct {
		Syslog, Dir, Socket, LogDir, Bind string
		Servers                           []struct{ Name, Addr string }
	}{
		Syslog: "127.0.0.1:" + itoa(FreeUDPPort(t, "127.0.0.1")), Dir: dir,
		Socket: filepath.Join(SocketDir(t), "stats"), LogDir: dir, Bind: FreeAddr(t, "127.0.0.1"),
		Servers: []struct{ Name, Addr string }{{crasher.Name, crasher.Addr}, {healthy.Name, healthy.Addr}},
	}
	_, _, cfg := renderUser(t, dir, webLBUser, data)
	h := StartHAProxy(t, DebianHAProxy(t), cfg, data.Socket, data.Bind)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range []string{crasher.Name, healthy.Name} {
		if err := h.WaitChecked(ctx, "app", s); err != nil {
			t.Fatal(err)
		}
	}
	const n = 10
	send := func(method string) (ok, failed int) {
		for range n {
			req, err := http.NewRequestWithContext(ctx, method, "http://"+data.Bind+"/die", strings.NewReader("x=1"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("%s /die: %v", method, err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ok++
			} else {
				failed++
			}
		}
		return ok, failed
	}

	gOK, gFailed := send(http.MethodGet)
	pOK, pFailed := send(http.MethodPost)
	t.Logf("FIGURE scenario=web-lb-retries get_ok=%d get_failed=%d post_ok=%d post_failed=%d crasher_get=%d crasher_post=%d healthy_get=%d healthy_post=%d",
		gOK, gFailed, pOK, pFailed, crasher.count("GET /die"), crasher.count("POST /die"), healthy.count("GET /die"), healthy.count("POST /die"))
	if gFailed != 0 {
		t.Errorf("%d of %d GETs failed although the other server answers (retry-on, redispatch)", gFailed, n)
	}
	if crasher.count("GET /die") == 0 {
		t.Errorf("no GET reached the crashing server: the retry was not exercised")
	}
	// Every POST reached exactly one server, once.
	if got := crasher.count("POST /die") + healthy.count("POST /die"); got != n {
		t.Errorf("servers received %d POSTs for %d sent: a POST was replayed", got, n)
	}
	if pFailed != crasher.count("POST /die") || pFailed == 0 {
		t.Errorf("%d POSTs failed, %d reached the crashing server: want every one that reached it to fail and none retried", pFailed, crasher.count("POST /die"))
	}
}
