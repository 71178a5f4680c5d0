package livetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"harpy/internal/testenv"
)

// outageUser extends rds-read-pool as a user with replicas on a port of their own would:
// explicit nameservers (the test's dnsmasq; without them the profile reads the host's
// /etc/resolv.conf) and server addresses on a non-default port, and nothing about the
// health-check port or the hold values: the checks must follow the servers' port, and
// the profile's own holds must outlast the outage.
const outageUser = `extends = "rds-read-pool"

[global]
log = { target = "{{.Syslog}}" }
pidfile = "{{.Dir}}/haproxy.pid"
stats_socket = { path = "{{.Socket}}", mode = "600" }

[resolvers.vpc]
nameservers = ["{{.DNS}}"]

[[listen]]
name = "mysql"
bind = ["{{.Bind}}"]
init_addr = "none"
{{if .CheckPort}}health = { port = {{.CheckPort}}, inter = "500ms" }
{{end}}servers = [
  { name = "read1", address = "read1.rds.livetest:{{.Port}}" },
  { name = "read2", address = "read2.rds.livetest:{{.Port}}" },
  { name = "master", address = "master.rds.livetest:{{.Port}}", backup = true },
]

[stats]
bind = "{{.Stats}}"
`

type outageData struct {
	Syslog, Dir, Socket, DNS, Bind, Stats string
	Port, CheckPort                       int
}

// outageProxy is one HAProxy of the scenario.
type outageProxy struct {
	name string
	h    *HAProxy
	cfg  string
	ok   atomic.Int64
	fail atomic.Int64
	// firstFail is the first failed connection's time after the DNS stopped (zero: none).
	mu        sync.Mutex
	firstFail time.Time
	lastErr   error
}

// startOutageProxy renders outageUser for version, applies edit to haproxy.cfg (nil: none)
// and starts bin on it.
func startOutageProxy(tb testing.TB, name, bin, version string, data outageData, edit func(string) string) *outageProxy {
	tb.Helper()
	data.Dir = MkdirAll(tb, filepath.Join(tb.TempDir(), name))
	data.Bind = FreeAddr(tb, "127.0.0.1")
	data.Stats = FreeAddr(tb, "127.0.0.1")
	data.Syslog = "127.0.0.1:" + strconv.Itoa(FreeUDPPort(tb, "127.0.0.1"))
	data.Socket = filepath.Join(SocketDir(tb), "stats")
	_, _, cfg := renderUserFor(tb, version, data.Dir, outageUser, data)
	if edit != nil {
		writeFile(tb, cfg, edit(readFile(tb, cfg)))
	}
	return &outageProxy{name: name, cfg: readFile(tb, cfg), h: StartHAProxy(tb, bin, cfg, data.Socket, data.Bind, data.Stats)}
}

// mysqlGreeting opens a TCP connection to addr and reads a MySQL server greeting (a
// packet whose first byte is protocol version 10): proof that a server answered through
// the listener. HAProxy with no usable server closes the connection instead.
func mysqlGreeting(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	var b [5]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return fmt.Errorf("read greeting through %s: %w", addr, err)
	}
	if b[4] != 10 {
		return fmt.Errorf("through %s: first packet starts with 0x%02x, not a greeting (10)", addr, b[4])
	}
	return nil
}

// withoutHolds removes the hold lines harpy writes for an outage: the control runs on
// HAProxy's own defaults (hold timeout/refused/other/nx 30s), as rds-read-pool did before.
func withoutHolds(cfg string) string {
	return regexp.MustCompile(`(?m)^    hold (timeout|refused|other|nx|obsolete) .*\n`).ReplaceAllString(cfg, "")
}

// TestRDSDNSOutage (issue 15): rds-read-pool with replicas on a port of their own, named
// by a real dnsmasq, on three real MariaDB servers, with a client opening a connection
// through the listener every 50 ms. The checks reach the servers' own port (L7OK in show
// stat); with health.port set they go to that port instead. The DNS server is stopped
// for 90 s — three times HAProxy's own 30 s holds, after which the old profile put every
// server in MAINT (resolution) at 31–36 s — and the profile on Debian's 2.6 and harpy's
// 3.0.11 loses no connection and no address, while a control on HAProxy's hold defaults
// loses the whole pool. With DNS back, an A record change still moves traffic, and a
// name deleted (NXDOMAIN) takes its server out after hold nx (30 s), the others serving.
func TestRDSDNSOutage(t *testing.T) {
	Long(t)
	const outage = 90 * time.Second
	ips := map[string]string{"read1": "127.0.0.41", "read2": "127.0.0.42", "master": "127.0.0.43", "read1-moved": "127.0.0.44"}
	port := FreePortOn(t, ips["read1"], ips["read2"], ips["master"], ips["read1-moved"])
	if port == 3306 {
		t.Skip("the free port is MySQL's default; this scenario needs another one")
	}
	addr := func(n string) string { return net.JoinHostPort(ips[n], strconv.Itoa(port)) }
	tmpl := MariaDBTemplate(t)
	dbs := map[string]*MariaDB{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range []string{"read1", "read2", "master"} {
		wg.Go(func() {
			// Greetings read and dropped are aborted handshakes; loopback clients are not
			// counted against max_connect_errors, and a large limit keeps it so.
			m := StartMariaDB(t, tmpl, n, addr(n), 1_000_000)
			mu.Lock()
			dbs[n] = m
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	records := map[string]string{"read1.rds.livetest": ips["read1"], "read2.rds.livetest": ips["read2"], "master.rds.livetest": ips["master"]}
	dns := StartDnsmasq(t, 0, records)
	dnsPort, _ := strconv.Atoi(dns.Addr[strings.LastIndexByte(dns.Addr, ':')+1:])
	data := outageData{DNS: dns.Addr, Port: port}

	debian := DebianHAProxy(t)
	proxies := []*outageProxy{
		startOutageProxy(t, "profile-2.6", debian, "2.6", data, nil),
		startOutageProxy(t, "profile-3.0.11", testenv.HAProxy(t, "3.0.11"), "3.0", data, nil),
	}
	control := startOutageProxy(t, "control-2.6", debian, "2.6", data, withoutHolds)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	servers := []string{"read1", "read2", "master"}
	parent := t

	t.Run("checks reach the servers' own port", func(t *testing.T) {
		for _, p := range append(proxies, control) {
			if strings.Contains(p.cfg, "check port") {
				t.Errorf("%s: the rendered config sends checks elsewhere:\n%s", p.name, p.cfg)
			}
			for _, n := range servers {
				wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
				err := p.h.WaitChecked(wctx, "mysql", n)
				wcancel()
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
			}
			rows, err := p.h.Stat(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range servers {
				r := Find(rows, "mysql", n)
				t.Logf("FIGURE scenario=check-port proxy=%s server=%s addr=%s check_status=%s", p.name, n, r["addr"], r["check_status"])
				if r["addr"] != addr(n) {
					t.Errorf("%s/%s: addr %s, want %s", p.name, n, r["addr"], addr(n))
				}
			}
		}
		// The explicit override still works: checks on 3306, where nothing listens on
		// these addresses, fail while the servers themselves answer on their port.
		d := data
		d.CheckPort = 3306
		over := startOutageProxy(t, "check-port-3306", debian, "2.6", d, nil)
		if !strings.Contains(over.cfg, "check port 3306") {
			t.Fatalf("health.port = 3306 rendered no `check port 3306`:\n%s", over.cfg)
		}
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if _, err := over.h.WaitStatus(wctx, "mysql", "read1", "DOWN"); err != nil {
			t.Errorf("checks on port 3306: %v", err)
		}
		rows, err := over.h.Stat(ctx)
		if err == nil {
			r := Find(rows, "mysql", "read1")
			t.Logf("FIGURE scenario=check-port-override status=%s check_status=%s", r.Status(), r["check_status"])
		}
		over.h.proc.Stop()
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("DNS stopped 90s: no failed connection, no address lost", func(t *testing.T) {
		loadCtx, stopLoad := context.WithCancel(ctx)
		var load sync.WaitGroup
		var stopped atomic.Int64 // unix nanos when the DNS stopped
		for _, p := range append(proxies, control) {
			bind := p.h.boundAddr(t)
			load.Go(func() {
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-loadCtx.Done():
						return
					case <-tick.C:
					}
					if err := mysqlGreeting(bind); err != nil {
						p.fail.Add(1)
						p.mu.Lock()
						if p.firstFail.IsZero() && stopped.Load() != 0 {
							p.firstFail = time.Now()
						}
						p.lastErr = err
						p.mu.Unlock()
					} else {
						p.ok.Add(1)
					}
				}
			})
		}
		time.Sleep(2 * time.Second) // load before the outage
		start := time.Now()
		stopped.Store(start.UnixNano())
		dns.proc.Stop()
		// Watch every server's status and address through the outage.
		bad := map[string]string{}
		controlMaint := time.Duration(0)
		for time.Since(start) < outage {
			for _, p := range proxies {
				rows, err := p.h.Stat(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range servers {
					r := Find(rows, "mysql", n)
					if k := p.name + "/" + n; r.Status() != "UP" || r["addr"] != addr(n) {
						if _, seen := bad[k]; !seen {
							bad[k] = fmt.Sprintf("%s addr %s after %.1fs", r.Status(), r["addr"], time.Since(start).Seconds())
						}
					}
				}
			}
			if controlMaint == 0 {
				if rows, err := control.h.Stat(ctx); err == nil {
					all := true
					for _, n := range servers {
						all = all && strings.HasPrefix(Find(rows, "mysql", n).Status(), "MAINT")
					}
					if all {
						controlMaint = time.Since(start)
					}
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
		stopLoad()
		load.Wait()
		for _, p := range append(proxies, control) {
			first := "none"
			if !p.firstFail.IsZero() {
				first = fmt.Sprintf("%.1fs", p.firstFail.Sub(start).Seconds())
			}
			t.Logf("FIGURE scenario=dns-outage proxy=%s outage_s=%.0f ok=%d failed=%d first_failure=%s", p.name, outage.Seconds(), p.ok.Load(), p.fail.Load(), first)
		}
		t.Logf("FIGURE scenario=dns-outage proxy=control-2.6 all_maint_after_s=%.1f", controlMaint.Seconds())
		for _, p := range proxies {
			if p.fail.Load() != 0 || p.ok.Load() == 0 {
				t.Errorf("%s: %d failed connections (last: %v), %d served during a %s DNS outage; want 0 failed", p.name, p.fail.Load(), p.lastErr, p.ok.Load(), outage)
			}
		}
		for k, v := range bad {
			t.Errorf("%s during the DNS outage: %s; want UP with its address", k, v)
		}
		// The control proves the outage was long enough to matter: on HAProxy's own
		// holds every server went to MAINT (resolution) and connections failed.
		if controlMaint == 0 || control.fail.Load() == 0 {
			t.Errorf("control on HAProxy's hold defaults: all servers in MAINT after %v, %d failed connections; want the pool lost within %s (else this test proves nothing)",
				controlMaint, control.fail.Load(), outage)
		}
	})

	t.Run("DNS back: a changed A record moves traffic without a reload", func(t *testing.T) {
		// Started on the parent test: they serve the next subtest too.
		moved := StartMariaDB(parent, tmpl, "read1-moved", addr("read1-moved"), 1_000_000)
		records["read1.rds.livetest"] = ips["read1-moved"]
		dns = StartDnsmasq(parent, dnsPort, records)
		for _, p := range proxies {
			pid := p.h.Pid()
			wctx, wcancel := context.WithTimeout(ctx, 40*time.Second)
			var last StatRow
			took, err := Eventually(wctx, 200*time.Millisecond, func() bool {
				rows, err := p.h.Stat(ctx)
				if err != nil {
					return false
				}
				last = Find(rows, "mysql", "read1")
				return last["addr"] == addr("read1-moved")
			})
			wcancel()
			if err != nil {
				t.Errorf("%s: read1 still at %s 40 s after its A record moved to %s", p.name, last["addr"], ips["read1-moved"])
				continue
			}
			t.Logf("FIGURE scenario=dns-move-after-outage proxy=%s seconds=%.1f", p.name, took.Seconds())
			if p.h.Pid() != pid {
				t.Errorf("%s: haproxy was restarted", p.name)
			}
			if bad, err := NonLoopbackPeers(ctx, p.h.Pid()); err != nil || len(bad) > 0 {
				t.Errorf("%s talks outside loopback: %v %v", p.name, bad, err)
			}
		}
		if moved.Status("Connections") == 0 {
			t.Errorf("read1-moved saw no connection (checks or clients)")
		}
	})

	t.Run("NXDOMAIN: a deleted name leaves the pool after hold nx", func(t *testing.T) {
		// A DNS server authoritative for livetest (local=) that no longer has read2: the
		// answer is NXDOMAIN, a replica deleted. Its address is kept hold_nx (30s, counted
		// from the last valid answer), then the server goes to MAINT; the others stay UP.
		// Valid answers first: hold nx counts from the last one, and the outage above
		// left read2's last valid answer 90 s old.
		time.Sleep(12 * time.Second)
		dns.proc.Stop()
		changed := time.Now()
		StartDnsmasqConf(t, dnsPort, fmt.Sprintf("local=/livetest/\nhost-record=ready.test,127.0.0.1\nhost-record=read1.rds.livetest,%s\nhost-record=master.rds.livetest,%s\n",
			ips["read1-moved"], ips["master"]))
		var wg sync.WaitGroup
		for _, p := range proxies {
			wg.Go(func() {
				wctx, wcancel := context.WithTimeout(ctx, 70*time.Second)
				defer wcancel()
				var last StatRow
				_, err := Eventually(wctx, 200*time.Millisecond, func() bool {
					rows, err := p.h.Stat(ctx)
					if err != nil {
						return false
					}
					last = Find(rows, "mysql", "read2")
					for _, n := range []string{"read1", "master"} {
						// A check failing on a loaded machine ("UP 1/2") is not the
						// resolver's doing; a server in MAINT or DOWN would be.
						if r := Find(rows, "mysql", n); strings.HasPrefix(r.Status(), "MAINT") || r.Status() == "DOWN" {
							t.Errorf("%s/%s is %s (%s) while only read2 was deleted", p.name, n, r.Status(), r["last_chk"])
							return true
						}
					}
					return strings.HasPrefix(last.Status(), "MAINT")
				})
				took := time.Since(changed)
				if err != nil {
					t.Errorf("%s: read2 still %s %.0f s after its name was deleted (NXDOMAIN)", p.name, last.Status(), took.Seconds())
					return
				}
				t.Logf("FIGURE scenario=dns-nxdomain proxy=%s maint_after_s=%.1f status=%q", p.name, took.Seconds(), last.Status())
				// hold nx 30s from the last valid answer, which is at most hold valid (10s)
				// older than the change: not before about 20 s.
				if took < 15*time.Second {
					t.Errorf("%s: read2 in MAINT %.1f s after NXDOMAIN, before hold nx (30s) could run out", p.name, took.Seconds())
				}
			})
		}
		wg.Wait()
	})
}
