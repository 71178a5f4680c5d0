package livetest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Dnsmasq is a real dnsmasq answering A records from a hosts file on 127.0.0.1 only,
// with TTL 0, forwarding nothing. Records change by rewriting the file and SIGHUP.
type Dnsmasq struct {
	Addr  string // 127.0.0.1:port
	Dir   string
	hosts string
	tb    testing.TB
	proc  *Proc
}

// StartDnsmasq starts dnsmasq on 127.0.0.1:port (a free port when port is 0) answering
// records (name → IPv4).
func StartDnsmasq(tb testing.TB, port int, records map[string]string) *Dnsmasq {
	tb.Helper()
	bin := Tool(tb, "dnsmasq", "dnsmasq-base")
	if port == 0 {
		port = FreeUDPPort(tb, "127.0.0.1")
	}
	d := &Dnsmasq{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Dir:  MkdirAll(tb, filepath.Join(tb.TempDir(), "dnsmasq")),
		tb:   tb,
	}
	d.hosts = filepath.Join(d.Dir, "hosts")
	d.writeHosts(records)
	conf := filepath.Join(d.Dir, "dnsmasq.conf")
	writeFile(tb, conf, fmt.Sprintf(`port=%d
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
addn-hosts=%s
local-ttl=0
user=root
group=root
pid-file=%s
log-queries
log-facility=-
`, port, d.hosts, filepath.Join(d.Dir, "dnsmasq.pid")))
	d.proc = StartProc(tb, "dnsmasq", filepath.Join(d.Dir, "dnsmasq.out"), bin, "-k", "-C", conf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var name, want string
	for name, want = range records {
		break
	}
	if err := d.waitAnswer(ctx, name, want); err != nil {
		tb.Fatalf("dnsmasq on %s: %v\n%s", d.Addr, err, Tail(d.proc.LogPath, 20))
	}
	return d
}

func (d *Dnsmasq) writeHosts(records map[string]string) {
	d.tb.Helper()
	names := make([]string, 0, len(records))
	for n := range records {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", records[n], n)
	}
	writeFile(d.tb, d.hosts, b.String())
}

// SetRecords replaces every record, reloads dnsmasq (SIGHUP re-reads addn-hosts and clears
// its cache) and waits until it answers the new address for each name.
func (d *Dnsmasq) SetRecords(records map[string]string) {
	d.tb.Helper()
	d.writeHosts(records)
	if err := d.proc.Signal(syscall.SIGHUP); err != nil {
		d.tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n, ip := range records {
		if err := d.waitAnswer(ctx, n, ip); err != nil {
			d.tb.Fatal(err)
		}
	}
}

// Lookup asks dnsmasq for name's A records.
func (d *Dnsmasq) Lookup(ctx context.Context, name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.ExchangeContext(ctx, m, d.Addr)
	if err != nil {
		return nil, fmt.Errorf("query %s A at %s: %w", name, d.Addr, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out, nil
}

func (d *Dnsmasq) waitAnswer(ctx context.Context, name, want string) error {
	var last []string
	var lastErr error
	_, err := Eventually(ctx, 50*time.Millisecond, func() bool {
		if ok, _ := d.proc.Exited(); ok {
			return true
		}
		last, lastErr = d.Lookup(ctx, name)
		return len(last) == 1 && last[0] == want
	})
	if ok, perr := d.proc.Exited(); ok {
		return fmt.Errorf("dnsmasq exited: %v\n%s", perr, Tail(d.proc.LogPath, 20))
	}
	if err != nil {
		return fmt.Errorf("dnsmasq answers %s = %v (%v), want %s: %w", name, last, lastErr, want, err)
	}
	return nil
}

// StartDnsmasqConf runs a dnsmasq on 127.0.0.1:port answering exactly the records of
// conf (host-record=, srv-host= lines) for names under .test, and waits until it answers
// ready.test (which conf must define). dnsmasq reads these lines only at start: to change
// them, Stop it and start another on the same port.
func StartDnsmasqConf(tb testing.TB, port int, conf string) *Proc {
	tb.Helper()
	bin := Tool(tb, "dnsmasq", "dnsmasq-base")
	dir := MkdirAll(tb, filepath.Join(tb.TempDir(), "dnsmasq"))
	path := filepath.Join(dir, "dnsmasq.conf")
	writeFile(tb, path, fmt.Sprintf("port=%d\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\nlocal-ttl=0\nuser=root\ngroup=root\nlocal=/test/\npid-file=%s\n%s",
		port, filepath.Join(dir, "pid"), conf))
	p := StartProc(tb, "dnsmasq", filepath.Join(dir, "out"), bin, "-k", "-C", path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := &Dnsmasq{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), proc: p}
	if _, err := Eventually(ctx, 50*time.Millisecond, func() bool {
		a, _ := d.Lookup(ctx, "ready.test")
		return len(a) == 1
	}); err != nil {
		tb.Fatalf("dnsmasq on 127.0.0.1:%d never answered ready.test:\n%s", port, Tail(filepath.Join(dir, "out"), 20))
	}
	return p
}
