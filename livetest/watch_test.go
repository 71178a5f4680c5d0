package livetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"harpy/apply"
	"harpy/discovery"
	"harpy/hversion"
	"harpy/internal/testenv"
	"harpy/watch"
)

const watchProfile = `allow_paths = [{{printf "%q" .Tmp}}]
extends = "web-lb"

[global]
log = { target = "{{.Syslog}}" }
pidfile = "{{.Dir}}/haproxy.pid"
stats_socket = { path = "{{.Socket}}", mode = "600", level = "admin" }

[[frontend]]
name = "main"
bind = ["{{.Bind}}"]
default_backend = "app"

[[backend]]
name = "app"
health = { path = "/health_check.html", inter = "200", fall = 1, rise = 1 }
servers = [ { name = "web1.test_{{.Port}}", address = "127.0.0.11:{{.Port}}" } ]
`

// webServer answers every request with its name, on addr.
func webServer(t testing.TB, name, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// served counts which backend answered n requests through the proxy.
func served(t *testing.T, bind string, n int) map[string]int {
	got := map[string]int{}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		resp, err := c.Get("http://" + bind + "/")
		if err != nil {
			got["error"]++
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			got[strconv.Itoa(resp.StatusCode)]++
			continue
		}
		got[string(b)]++
	}
	return got
}

func srvConf(port int, hosts ...string) string {
	s := "host-record=ready.test,127.0.0.9\nhost-record=web1.test,127.0.0.11\nhost-record=web2.test,127.0.0.12\n"
	for _, h := range hosts {
		s += fmt.Sprintf("srv-host=_http._tcp.app.test,%s,%d,10,10\n", h, port)
	}
	return s
}

// watchedProxy is a real HAProxy 2.6 on a profile whose backend "app" starts with web1,
// two web servers (web1, web2 on 127.0.0.11/12), and the persister that keeps its file.
type watchedProxy struct {
	bin, dir, root, profile, cfg string
	port                         int
	persist                      *watch.FilePersister
	h                            *HAProxy
	data                         map[string]any
}

func startWatchedProxy(t testing.TB) *watchedProxy {
	t.Helper()
	return startWatchedProxyOn(t, DebianHAProxy(t), "2.6")
}

// startWatchedProxyOn is startWatchedProxy on another haproxy binary, the profile rendered
// for its version.
func startWatchedProxyOn(t testing.TB, bin, version string) *watchedProxy {
	t.Helper()
	wp := &watchedProxy{bin: bin, port: FreePortOn(t, "127.0.0.11", "127.0.0.12")}
	webServer(t, "web1", fmt.Sprintf("127.0.0.11:%d", wp.port))
	webServer(t, "web2", fmt.Sprintf("127.0.0.12:%d", wp.port))
	wp.dir = MkdirAll(t, filepath.Join(t.TempDir(), "watch"))
	wp.root = MkdirAll(t, filepath.Join(wp.dir, "root"))
	wp.data = map[string]any{"Tmp": os.TempDir(), "Dir": wp.dir, "Socket": filepath.Join(SocketDir(t), "stats"),
		"Bind": FreeAddr(t, "127.0.0.1"), "Syslog": "127.0.0.1:" + strconv.Itoa(FreeUDPPort(t, "127.0.0.1")), "Port": wp.port}
	wp.profile = filepath.Join(wp.dir, "profile.toml")
	var b strings.Builder
	if err := template.Must(template.New("profile").Parse(watchProfile)).Execute(&b, wp.data); err != nil {
		t.Fatal(err)
	}
	writeFile(t, wp.profile, b.String())
	wp.persist = &watch.FilePersister{Profile: wp.profile, HAProxy: hversion.MustParse(version),
		Target: apply.LocalTarget{Root: wp.root}, Valid: apply.HAProxy{Binary: wp.bin}}
	// The first file: the profile's own server.
	if err := wp.persist.Persist(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	wp.cfg = filepath.Join(wp.root, "etc/haproxy/haproxy.cfg")
	wp.h = StartHAProxy(t, wp.bin, wp.cfg, wp.data["Socket"].(string), wp.data["Bind"].(string))
	return wp
}

// TestWatchDNS: a real HAProxy 2.6 whose backend follows SRV records of a real dnsmasq
// through harpy watch: a new target is added at run time and takes traffic, a removed
// one is drained and deleted, a DNS outage changes nothing, the file on disk always
// passes haproxy -c and holds what runs, and a restarted watcher changes nothing.
func TestWatchDNS(t *testing.T) {
	Long(t)
	t.Run("2.6", func(t *testing.T) { testWatchDNS(t, DebianHAProxy(t), "2.6") })
	t.Run("3.0.11", func(t *testing.T) { testWatchDNS(t, testenv.HAProxy(t, "3.0.11"), "3.0") })
}

func testWatchDNS(t *testing.T, haproxyBin, version string) {
	wp := startWatchedProxyOn(t, haproxyBin, version)
	bin, port, dir, root, profile, persist, h, data, cfg, ctx := wp.bin, wp.port, wp.dir, wp.root, wp.profile, wp.persist, wp.h, wp.data, wp.cfg, t.Context()
	dnsPort := FreeUDPPort(t, "127.0.0.1")
	dns := StartDnsmasqConf(t, dnsPort, srvConf(port, "web1.test", "web2.test"))
	src := &discovery.DNS{Name: "_http._tcp.app.test", Kind: "srv", Servers: []string{fmt.Sprintf("127.0.0.1:%d", dnsPort)}, Timeout: 300 * time.Millisecond}
	newWatcher := func() *watch.Watcher {
		return &watch.Watcher{Runtime: &watch.HAProxy{Client: h.API}, Persister: persist,
			Backends: []watch.Backend{{Name: "app", Source: src, DrainTimeout: 5 * time.Second,
				Check: watch.Check{Enabled: true, Inter: "200ms", Fall: 1, Rise: 1}}}}
	}
	w := newWatcher()
	pid := h.Pid()

	// `harpy watch --once --dry-run` from a config file: the plan, and nothing sent.
	conf := filepath.Join(dir, "watch.toml")
	writeFile(t, conf, fmt.Sprintf("profile = %q\nsocket = %q\nroot = %q\n[[backend]]\nname = \"app\"\ndns = { name = \"_http._tcp.app.test\", nameservers = [\"127.0.0.1:%d\"] }\n",
		profile, data["Socket"], root, dnsPort))
	var plan strings.Builder
	if err := watch.Serve(ctx, conf, watch.ServeOptions{Once: true, DryRun: true, Out: &plan}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "add server app/web2.test_") || strings.Contains(plan.String(), "web1.test_") {
		t.Errorf("dry-run plan:\n%s", plan.String())
	}
	if got := served(t, data["Bind"].(string), 10); got["web1"] != 10 {
		t.Fatalf("the dry run changed the pool: %v", got)
	}

	// Everything from here to the DNS outage runs under wrk: adding and removing a server
	// at run time loses no request.
	wrkDone := make(chan struct{})
	var load WrkResult
	var loadErr error
	go func() {
		defer close(wrkDone)
		load, _, loadErr = Wrk{URL: "http://" + data["Bind"].(string) + "/", Threads: 2, Conns: 20, Duration: 6 * time.Second}.Run(ctx, Tool(t, "wrk", "wrk"))
	}()
	time.Sleep(time.Second)

	// The profile names web1 as web1.test_PORT, which is also what the SRV record gives:
	// only web2 is new.
	changes, err := w.Once(ctx)
	if err != nil || len(changes) != 1 || changes[0].Kind != watch.Add {
		t.Fatalf("add: %v %+v", err, changes)
	}
	waitServed(t, data["Bind"].(string), "web2")
	fileHolds(t, bin, cfg, "web1.test_", "web2.test_")

	// web1 leaves the SRV set: drained, deleted, all traffic on web2, no failed request.
	dns.Stop()
	dns = StartDnsmasqConf(t, dnsPort, srvConf(port, "web2.test"))
	if changes, err = w.Once(ctx); err != nil || len(changes) != 1 || changes[0].Kind != watch.Remove {
		t.Fatalf("remove: %v %+v", err, changes)
	}
	if got := served(t, data["Bind"].(string), 20); got["web2"] != 20 {
		t.Errorf("after the removal: %v, want all 20 on web2", got)
	}
	fileHolds(t, bin, cfg, "web2.test_")
	if strings.Contains(readFile(t, cfg), "web1.test_") {
		t.Errorf("the file still holds web1:\n%s", readFile(t, cfg))
	}

	// /status and /metrics tell what runs.
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/status": `"Name": "web2.test_`, "/metrics": "harpy_watch_changes_total 2", "/healthz": "ok"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q:\n%s", path, want, b)
		}
	}

	<-wrkDone
	if loadErr != nil || load.Failed() != 0 || load.Requests == 0 {
		t.Errorf("under wrk while web2 was added and web1 removed: %v, %v", load, loadErr)
	}
	t.Logf("FIGURE watch add+remove under wrk: %s", load)

	// DNS down: nothing changes.
	dns.Stop()
	if changes, _ = w.Once(ctx); len(changes) != 0 {
		t.Errorf("DNS down changed %+v", changes)
	}
	if got := served(t, data["Bind"].(string), 10); got["web2"] != 10 {
		t.Errorf("during the DNS outage: %v", got)
	}
	st, _ := w.Status()
	if st.Refused != 1 {
		t.Errorf("refused answers %d, want 1", st.Refused)
	}

	// A restarted watcher finds everything right: no command, no write.
	StartDnsmasqConf(t, dnsPort, srvConf(port, "web2.test"))
	before := readFile(t, cfg)
	w2 := newWatcher()
	if changes, err = w2.Once(ctx); err != nil || len(changes) != 0 {
		t.Errorf("restarted watcher: %v %+v", err, changes)
	}
	if st, _ := w2.Status(); st.Commands != 0 || readFile(t, cfg) != before {
		t.Errorf("restarted watcher sent %d commands or rewrote the file", st.Commands)
	}
	if h.Pid() != pid {
		t.Errorf("HAProxy was restarted (pid %d → %d)", pid, h.Pid())
	}

	// A reload of the file on disk serves the same servers as before it.
	_, cur := w2.Status()
	h.Reload(data["Bind"].(string))
	stats, err := h.API.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var running []string
	for _, r := range stats.Rows {
		if r.Proxy() == "app" && r.IsServer() {
			running = append(running, r.Server())
		}
	}
	var watched []string
	for _, x := range cur["app"] {
		watched = append(watched, x.Name)
	}
	if strings.Join(running, ",") != strings.Join(watched, ",") || len(running) == 0 {
		t.Errorf("after a reload: servers %v, the watcher ran %v", running, watched)
	}
	waitServed(t, data["Bind"].(string), "web2")
}

func waitServed(t *testing.T, bind, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := served(t, bind, 10)
		if got[name] > 0 && got["error"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never served: %v", name, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fileHolds checks that the config on disk passes haproxy -c and names the servers.
func fileHolds(t *testing.T, bin, cfg string, names ...string) {
	t.Helper()
	out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c %s: %v\n%s", cfg, err, out)
	}
	c := readFile(t, cfg)
	for _, n := range names {
		if !strings.Contains(c, "server "+n) {
			t.Errorf("%s lacks server %s:\n%s", cfg, n, c)
		}
	}
}

// TestWatchConsul: the same backend following the Consul catalog of a real agent:
// register → traffic, a failing check → drained and gone, deregistered → gone,
// the agent stopped → the pool kept and serving.
func TestWatchConsul(t *testing.T) {
	Long(t)
	wp := startWatchedProxy(t)
	ctx := t.Context()
	agent := StartConsul(t)
	cfg := consulapi.DefaultConfig()
	cfg.Address = agent.HTTP
	cl, err := consulapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	register := func(node, ip string) {
		t.Helper()
		// The service ID names the server (node names are the agent's own here).
		if err := cl.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{ID: node, Name: "app", Port: wp.port, Address: ip,
			Check: &consulapi.AgentServiceCheck{CheckID: "check-" + node, TTL: "10m", Status: consulapi.HealthPassing}}); err != nil {
			t.Fatal(err)
		}
	}
	register("web1.test", "127.0.0.11")
	src := &discovery.Consul{Service: "app", Address: agent.HTTP, Wait: 10 * time.Second}
	w := &watch.Watcher{Runtime: &watch.HAProxy{Client: wp.h.API}, Persister: wp.persist,
		Backends: []watch.Backend{{Name: "app", Source: src, Blocking: true, DrainTimeout: 5 * time.Second,
			Check: watch.Check{Enabled: true, Inter: "200ms", Fall: 1, Rise: 1}}}}
	bind := wp.data["Bind"].(string)

	// web1 is already in the file under the name Consul gives it: nothing to do.
	if changes, err := w.Once(ctx); err != nil || len(changes) != 0 {
		t.Fatalf("first round: %v %+v", err, changes)
	}
	register("web2.test", "127.0.0.12")
	if changes, err := w.Once(ctx); err != nil || len(changes) != 1 || changes[0].Kind != watch.Add {
		t.Fatalf("registered: %v %+v", err, changes)
	}
	waitServed(t, bind, "web2")

	if err := cl.Agent().UpdateTTL("check-web1.test", "down", consulapi.HealthCritical); err != nil {
		t.Fatal(err)
	}
	if changes, err := w.Once(ctx); err != nil || len(changes) != 1 || changes[0].Kind != watch.Remove {
		t.Fatalf("failing check: %v %+v", err, changes)
	}
	if got := served(t, bind, 20); got["web2"] != 20 {
		t.Errorf("after the failing check: %v, want all on web2", got)
	}
	fileHolds(t, wp.bin, wp.cfg, "web2.test_")

	agent.Stop()
	if changes, _ := w.Once(ctx); len(changes) != 0 {
		t.Errorf("Consul stopped: changes %+v", changes)
	}
	if got := served(t, bind, 10); got["web2"] != 10 {
		t.Errorf("Consul stopped: %v, want the pool kept", got)
	}
}

// TestWatchFlaps: an SRV record flapping 20 times in 10 s, beside a target that has no
// address, while harpy watch runs on its interval: the flaps cost no reload (every change
// is made at run time), the addressless target is skipped while the others follow, no
// request fails, and the file ends with what runs.
func TestWatchFlaps(t *testing.T) {
	Long(t)
	wp := startWatchedProxy(t)
	dnsPort := FreeUDPPort(t, "127.0.0.1")
	records := func(withWeb2 bool) string {
		hosts := []string{"web1.test", "ghost.test"}
		if withWeb2 {
			hosts = append(hosts, "web2.test")
		}
		return srvConf(wp.port, hosts...)
	}
	dns := StartDnsmasqConf(t, dnsPort, records(false))
	w := &watch.Watcher{Runtime: &watch.HAProxy{Client: wp.h.API}, Persister: wp.persist, ReloadDebounce: time.Second,
		Backends: []watch.Backend{{Name: "app", Interval: 200 * time.Millisecond, DrainTimeout: 2 * time.Second,
			Source: &discovery.DNS{Name: "_http._tcp.app.test", Kind: "srv", Servers: []string{fmt.Sprintf("127.0.0.1:%d", dnsPort)}, Timeout: 300 * time.Millisecond},
			Check:  watch.Check{Enabled: true, Inter: "200ms", Fall: 1, Rise: 1}}}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	s := &sampler{}
	go s.run(ctx, "http://"+wp.data["Bind"].(string)+"/")
	for i := range 20 {
		dns.Stop()
		dns = StartDnsmasqConf(t, dnsPort, records(i%2 == 0))
		time.Sleep(500 * time.Millisecond)
	}
	// The last flap left web2 out: wait until the pool settles on web1 alone.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, cur := w.Status()
		if len(cur["app"]) == 1 && cur["app"][0].Name == fmt.Sprintf("web1.test_%d", wp.port) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool never settled: %v", cur["app"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a debounced reload would have happened by now
	cancel()
	st, _ := w.Status()
	s.mu.Lock()
	failed, served := s.fail, len(s.seen)
	s.mu.Unlock()
	t.Logf("FIGURE watch flaps: changes=%d commands=%d reloads=%d requests=%d failed=%d", st.Changes, st.Commands, st.Reloads, served, failed)
	if st.Reloads != 0 || failed != 0 || st.Changes < 10 {
		t.Errorf("20 flaps: %d reloads, %d failed requests, %d changes (want 0, 0, ≥10)", st.Reloads, failed, st.Changes)
	}
	if s.last("web2").IsZero() {
		t.Error("web2 never served although half the flaps named it")
	}
	fileHolds(t, wp.bin, wp.cfg, fmt.Sprintf("web1.test_%d", wp.port))
	if strings.Contains(readFile(t, wp.cfg), "web2.test_") || strings.Contains(readFile(t, wp.cfg), "ghost") {
		t.Errorf("the file holds more than web1:\n%s", readFile(t, wp.cfg))
	}
}
