package livetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rdsUser extends the embedded rds-read-pool profile for a loopback test: the replicas
// and the master are DNS names answered by the test's dnsmasq (as RDS endpoints are), the
// resolvers section asks only that dnsmasq, and everything else that names a host path or
// port is moved under the test's directory. init_addr "none": at start-up HAProxy must not
// ask the machine's resolver (libc) for the test's names.
const rdsUser = `extends = "rds-read-pool"

[global]
log = { target = "{{.Syslog}}" }
pidfile = "{{.Dir}}/haproxy.pid"
stats_socket = { path = "{{.Socket}}", mode = "600" }

[resolvers.vpc]
parse_resolv_conf = false
nameservers = ["{{.DNS}}"]

[[listen]]
name = "mysql"
bind = ["{{.Bind}}"]
init_addr = "none"
health = { port = {{.Port}}, inter = "{{.Inter}}" }
servers = [
  { name = "read1", address = "read1.rds.livetest:{{.Port}}" },
  { name = "read2", address = "read2.rds.livetest:{{.Port}}" },
  { name = "master", address = "master.rds.livetest:{{.Port}}", backup = true },
]

[stats]
bind = "{{.Stats}}"
`

type rdsData struct {
	Syslog, Dir, Socket, DNS, Bind, Stats, Inter string
	Port                                         int
	// NoCheckUser turns the rendered `option mysql-check user monitor` into the bare
	// `option mysql-check` of seed 002's pitfall (a control, not a profile setting).
	NoCheckUser bool
}

// startRDSProxy renders the rds-read-pool user profile and runs haproxy on it, its
// connections to the servers leaving from source (see TestRDSReadPool).
func startRDSProxy(tb testing.TB, name string, data rdsData, source string) *HAProxy {
	tb.Helper()
	data.Dir = MkdirAll(tb, filepath.Join(tb.TempDir(), name))
	data.Bind = FreeAddr(tb, "127.0.0.1")
	data.Syslog = "127.0.0.1:" + strconv.Itoa(FreeUDPPort(tb, "127.0.0.1"))
	data.Socket = filepath.Join(SocketDir(tb), "stats")
	_, _, cfg := renderUser(tb, data.Dir, rdsUser, data)
	withSource(tb, cfg, "listen mysql", source)
	if data.NoCheckUser {
		c := readFile(tb, cfg)
		if !strings.Contains(c, "option mysql-check user monitor\n") {
			tb.Fatalf("%s has no `option mysql-check user monitor`:\n%s", cfg, c)
		}
		writeFile(tb, cfg, strings.Replace(c, "option mysql-check user monitor\n", "option mysql-check\n", 1))
	}
	return StartHAProxy(tb, DebianHAProxy(tb), cfg, data.Socket, data.Bind, data.Stats)
}

// withSource adds `source IP` to a proxy section of a rendered config. A loopback test
// needs it: MariaDB never counts connection errors from 127.0.0.1 (a loopback client skips
// the host cache), while an RDS endpoint sees HAProxy's real address — so without it, the
// "blocked because of many connection errors" pitfall could never show here.
func withSource(tb testing.TB, cfgPath, section, ip string) {
	tb.Helper()
	b := readFile(tb, cfgPath)
	head := "\n" + section + "\n"
	if !strings.Contains(b, head) {
		tb.Fatalf("%s has no section %q:\n%s", cfgPath, section, b)
	}
	writeFile(tb, cfgPath, strings.Replace(b, head, head+"    source "+ip+"\n", 1))
}

// TestRDSReadPool proves the rds-read-pool profile (seeds 000 and 002) against three real
// MariaDB servers named through a real dnsmasq: mysql-check with a USAGE-only user, the
// master serving only when both replicas are down, leastconn, the stats page, no host
// blocked after 1,000 checks, and an A record change followed without a reload.
func TestRDSReadPool(t *testing.T) {
	Long(t)
	client := MariaDBClient(t)
	ips := map[string]string{"read1": "127.0.0.21", "read2": "127.0.0.22", "master": "127.0.0.23", "read2-moved": "127.0.0.24"}
	port := FreePortOn(t, ips["read1"], ips["read2"], ips["master"], ips["read2-moved"])
	addr := func(n string) string { return net.JoinHostPort(ips[n], strconv.Itoa(port)) }

	tmpl := MariaDBTemplate(t)
	dbs := map[string]*MariaDB{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range []string{"read1", "read2", "master"} {
		wg.Go(func() {
			m := StartMariaDB(t, tmpl, n, addr(n), 100) // 100: MariaDB's default max_connect_errors
			mu.Lock()
			dbs[n] = m
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	dns := StartDnsmasq(t, 0, map[string]string{
		"read1.rds.livetest": ips["read1"], "read2.rds.livetest": ips["read2"], "master.rds.livetest": ips["master"],
	})

	stats := "127.0.0.1:1919"
	if l, err := net.Listen("tcp", stats); err != nil {
		stats = FreeAddr(t, "127.0.0.1") // 1919 busy: the profile's stats bind is overridden
	} else {
		l.Close()
	}
	// inter 10ms: 1,000 checks per server in about ten seconds.
	data := rdsData{DNS: dns.Addr, Stats: stats, Inter: "10ms", Port: port}
	h := startRDSProxy(t, "haproxy", data, "127.0.0.9")
	proxy := ClientTo(h.boundAddr(t))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	query := func(t *testing.T, conn []string) string {
		t.Helper()
		out, err := MySQLQuery(ctx, client, conn, "SELECT name FROM livetest.marker")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	waitStatus := func(t *testing.T, server, want string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		if _, err := h.WaitStatus(wctx, "mysql", server, want); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("mysql-check marks UP", func(t *testing.T) {
		for _, n := range []string{"read1", "read2", "master"} {
			wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
			err := h.WaitChecked(wctx, "mysql", n)
			wcancel()
			if err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("no host blocked after 1000 checks", func(t *testing.T) {
		before := map[string]int{}
		for n, m := range dbs {
			before[n] = m.Status("Aborted_connects")
		}
		for n, m := range dbs {
			wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
			_, err := Eventually(wctx, 200*time.Millisecond, func() bool { return m.Status("Connections") >= 1000 })
			wcancel()
			if err != nil {
				t.Fatalf("%s: only %d connections (checks) after a minute", n, m.Status("Connections"))
			}
		}
		rows, err := h.Stat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for n, m := range dbs {
			r := Find(rows, "mysql", n)
			conns, aborted := m.Status("Connections"), m.Status("Aborted_connects")-before[n]
			t.Logf("FIGURE scenario=rds-checks server=%s connections=%d aborted_connects=%d chkfail=%s status=%s", n, conns, aborted, r["chkfail"], r.Status())
			if aborted != 0 || r["chkfail"] != "0" || r.Status() != "UP" {
				t.Errorf("%s after %d checks: %d aborted connects, chkfail %s, status %s; want 0, 0, UP", n, conns, aborted, r["chkfail"], r.Status())
			}
		}
		// A client through the proxy (whose connections leave from the same address as
		// the checks) still gets in.
		if got := query(t, proxy); got != "read1" && got != "read2" {
			t.Errorf("query through the proxy answered %q, want a replica", got)
		}
	})

	t.Run("control: mysql-check without user gets the proxy blocked", func(t *testing.T) {
		// The same config with a bare `option mysql-check` (seed 002's pitfall): each check
		// reads the greeting and hangs up, an aborted handshake; after max_connect_errors
		// of them MariaDB blocks the proxy's address while HAProxy still shows the servers
		// UP. If this control stops failing, the test above proves nothing.
		d := data
		d.NoCheckUser, d.Stats = true, FreeAddr(t, "127.0.0.1")
		hp := startRDSProxy(t, "haproxy-nouser", d, "127.0.0.8")
		defer hp.proc.Stop()
		// The replicas' error counts are reset by every client that gets in, but the backup
		// master sees nothing but checks: it is the one blocked, and the fail-over to it is
		// broken before anyone needs it.
		var last StatRow
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		took, err := Eventually(wctx, 100*time.Millisecond, func() bool {
			rows, err := hp.Stat(ctx)
			if err != nil {
				return false
			}
			last = Find(rows, "mysql", "master")
			return last != nil && strings.Contains(last["last_chk"], "blocked because of many connection errors")
		})
		if err != nil {
			t.Fatalf("30 s of checks without a user never got the master to block the proxy (master: %s %q)", last.Status(), last["last_chk"])
		}
		t.Logf("FIGURE scenario=rds-control check=mysql-check-without-user master_blocked_after_s=%.1f master_status=%s", took.Seconds(), last.Status())
	})

	t.Run("leastconn sends new connections to the least busy replica", func(t *testing.T) {
		// Three long connections spread 2/1 over the replicas; while they are held, every
		// new short one must go to the replica with one (roundrobin would alternate).
		const long = 3
		names := make([]string, long)
		var wg sync.WaitGroup
		for i := range long {
			wg.Go(func() {
				out, err := MySQLQuery(ctx, client, proxy, "SELECT name, SLEEP(6) FROM livetest.marker")
				if err != nil {
					t.Error(err)
					return
				}
				names[i], _, _ = strings.Cut(strings.TrimSpace(out), "\t")
			})
			time.Sleep(200 * time.Millisecond)
		}
		// Wait until all three are connected (a loaded machine starts clients slowly).
		scur := map[string]int{}
		wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
		defer wcancel()
		_, _ = Eventually(wctx, 50*time.Millisecond, func() bool {
			rows, err := h.Stat(ctx)
			if err != nil {
				return false
			}
			for _, n := range []string{"read1", "read2", "master"} {
				scur[n], _ = strconv.Atoi(Find(rows, "mysql", n)["scur"])
			}
			return scur["read1"]+scur["read2"]+scur["master"] >= long
		})
		less := "read1"
		if scur["read2"] < scur["read1"] {
			less = "read2"
		}
		var short []string
		for range 4 {
			short = append(short, query(t, proxy))
		}
		wg.Wait()
		sort.Strings(names)
		t.Logf("FIGURE scenario=rds-leastconn held=%s scur=read1:%d,read2:%d,master:%d new=%s",
			strings.Join(names, ","), scur["read1"], scur["read2"], scur["master"], strings.Join(short, ","))
		if scur["read1"]+scur["read2"] != 3 || scur["read1"] == 0 || scur["read2"] == 0 || scur["master"] != 0 {
			t.Errorf("held connections per server %v, want 2 and 1 on the replicas, 0 on the master", scur)
		}
		if want := slices.Repeat([]string{less}, 4); !slices.Equal(short, want) {
			t.Errorf("new connections went to %v while %s had fewer held, want all to %s", short, less, less)
		}
	})

	statsPage := "http://" + stats + "/stats"
	pageStatus := func(t *testing.T) map[string]string {
		t.Helper()
		rows, err := PageStat(ctx, statsPage)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range []string{"read1", "read2", "master"} {
			if r := Find(rows, "mysql", n); r != nil {
				out[n] = r.Status()
			}
		}
		return out
	}

	t.Run("stats page shows the states", func(t *testing.T) {
		got := pageStatus(t)
		if want := map[string]string{"read1": "UP", "read2": "UP", "master": "UP"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stats page %s: %v, want %v", statsPage, got, want)
		}
		// The page a person (or seed 002's check_haproxy.sh) opens answers 200 and names them.
		code, body := get(t, ctx, statsPage)
		for _, n := range []string{"mysql", "read1", "read2", "master"} {
			if code != 200 || !strings.Contains(body, n) {
				t.Errorf("stats page %s: %d, %q in the page: %v", statsPage, code, n, strings.Contains(body, n))
			}
		}
	})

	t.Run("both replicas down: the backup master serves", func(t *testing.T) {
		dbs["read1"].Stop()
		dbs["read2"].Stop()
		waitStatus(t, "read1", "DOWN")
		waitStatus(t, "read2", "DOWN")
		for range 4 {
			if got := query(t, proxy); got != "master" {
				t.Errorf("with both replicas down, a query answered %q, want master", got)
			}
		}
		if got := pageStatus(t); got["read1"] != "DOWN" || got["read2"] != "DOWN" || got["master"] != "UP" {
			t.Errorf("stats page %s: %v, want read1 DOWN, read2 DOWN, master UP", statsPage, got)
		}
	})

	t.Run("one replica back: traffic returns to it", func(t *testing.T) {
		dbs["read1"].Restart()
		waitStatus(t, "read1", "UP")
		for range 4 {
			if got := query(t, proxy); got != "read1" {
				t.Errorf("with read1 back, a query answered %q, want read1", got)
			}
		}
	})

	t.Run("DNS: a changed A record moves traffic without a reload", func(t *testing.T) {
		dbs["read2"].Restart()
		waitStatus(t, "read2", "UP")
		moved := StartMariaDB(t, tmpl, "read2-moved", addr("read2-moved"), 100)
		pid := h.Pid()
		changed := time.Now()
		dns.SetRecords(map[string]string{
			"read1.rds.livetest": ips["read1"], "read2.rds.livetest": ips["read2-moved"], "master.rds.livetest": ips["master"],
		})
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		var seen []string
		if _, err := Eventually(wctx, 100*time.Millisecond, func() bool {
			got := query(t, proxy)
			seen = append(seen, got)
			return got == "read2-moved"
		}); err != nil {
			t.Fatalf("30 s after read2.rds.livetest → %s, no query reached read2-moved (answers: %v)", ips["read2-moved"], seen)
		}
		took := time.Since(changed)
		rows, err := h.Stat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE scenario=dns-move seconds=%.2f addr=%s", took.Seconds(), Find(rows, "mysql", "read2")["addr"])
		if a := Find(rows, "mysql", "read2")["addr"]; a != addr("read2-moved") {
			t.Errorf("show stat: read2 addr %s, want %s", a, addr("read2-moved"))
		}
		if h.Pid() != pid {
			t.Errorf("haproxy was restarted (pid %d → %d)", pid, h.Pid())
		}
		if ok, err := h.proc.Exited(); ok {
			t.Errorf("haproxy exited: %v", err)
		}
		if bad, err := NonLoopbackPeers(ctx, h.Pid()); err != nil || len(bad) > 0 {
			t.Errorf("haproxy talks outside loopback: %v %v", bad, err)
		}
		if n := moved.Status("Connections"); n == 0 {
			t.Errorf("read2-moved saw no connection")
		}
	})
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
