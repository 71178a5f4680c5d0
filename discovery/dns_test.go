package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"harpy/internal/testenv"
	"harpy/livetest"
)

// TestDNSRealDnsmasq: SRV priorities and weights, a target without an address skipped
// while the rest is used, A records, NXDOMAIN, and a stopped server — against dnsmasq.
func TestDNSRealDnsmasq(t *testing.T) {
	testenv.Real(t)
	port := livetest.FreeUDPPort(t, "127.0.0.1")
	p := livetest.StartDnsmasqConf(t, port, `host-record=ready.test,127.0.0.9
host-record=web1.test,127.0.0.11
host-record=web2.test,127.0.0.12
host-record=spare.test,127.0.0.13
host-record=pool.test,127.0.0.21
host-record=pool.test,127.0.0.22
srv-host=_http._tcp.app.test,web1.test,8081,10,30
srv-host=_http._tcp.app.test,web2.test,8082,10,10
srv-host=_http._tcp.app.test,spare.test,8083,20,0
srv-host=_http._tcp.app.test,ghost.test,8084,10,10
`)
	srv := []string{fmt.Sprintf("127.0.0.1:%d", port)}
	ctx := t.Context()

	ans, err := (&DNS{Name: "_http._tcp.app.test", Kind: "srv", Servers: srv}).Query(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range ans.Targets {
		got = append(got, x.String())
	}
	want := "spare.test_8083 127.0.0.13:8083 weight 1 backup|web1.test_8081 127.0.0.11:8081 weight 256|web2.test_8082 127.0.0.12:8082 weight 85"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("SRV answer:\n got %s\nwant %s", g, want)
	}
	if len(ans.Skipped) != 1 || ans.Skipped[0].Host != "ghost.test" {
		t.Errorf("skipped %+v, want ghost.test (no address)", ans.Skipped)
	}

	ans, err = (&DNS{Name: "pool.test", Kind: "a", Port: 3306, Servers: srv}).Query(ctx)
	if err != nil || names(ans.Targets) != "127.0.0.21_3306,127.0.0.22_3306" {
		t.Errorf("A answer %s, %v", names(ans.Targets), err)
	}

	_, err = (&DNS{Name: "_http._tcp.nosuch.test", Kind: "srv", Servers: srv}).Query(ctx)
	var de *DNSError
	if !errors.As(err, &de) && !errors.Is(err, ErrEmpty) {
		t.Errorf("unknown name: %v, want a DNS error or an empty answer", err)
	}
	if d := (Guard{}).Decide(targets("a", "b"), Answer{}, err); names(d.Apply) != "a,b" || d.Refused == "" {
		t.Errorf("guard on %v: %+v", err, d)
	}

	p.Stop()
	start := time.Now()
	_, err = (&DNS{Name: "_http._tcp.app.test", Kind: "srv", Servers: srv, Timeout: 300 * time.Millisecond}).Query(ctx)
	if !errors.As(err, &de) || de.Rcode != -1 {
		t.Errorf("stopped server: %v, want a transport error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a stopped server took %v to fail (timeout 300ms)", d)
	}
}

// fakeDNS answers every question with rcode (a unit-test stand-in for a broken server;
// the real one is dnsmasq above).
func fakeDNS(t *testing.T, rcode int) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, rcode)
		w.WriteMsg(m)
	})}
	go s.ActivateAndServe()
	t.Cleanup(func() { s.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSBadAnswers(t *testing.T) {
	for _, rc := range []int{dns.RcodeServerFailure, dns.RcodeNameError, dns.RcodeRefused} {
		addr := fakeDNS(t, rc)
		_, err := (&DNS{Name: "_x._tcp.example", Kind: "srv", Servers: []string{addr}, Timeout: time.Second}).Query(context.Background())
		var de *DNSError
		if !errors.As(err, &de) || de.Rcode != rc || !strings.Contains(err.Error(), dns.RcodeToString[rc]) {
			t.Errorf("rcode %s: %v", dns.RcodeToString[rc], err)
		}
	}
	// The second nameserver answers when the first fails.
	good := fakeDNS(t, dns.RcodeSuccess)
	_, err := (&DNS{Name: "_x._tcp.example", Kind: "srv", Servers: []string{fakeDNS(t, dns.RcodeServerFailure), good}}).Query(context.Background())
	if !errors.Is(err, ErrEmpty) {
		t.Errorf("SERVFAIL then an empty NOERROR: %v, want ErrEmpty", err)
	}
}

func TestResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("# comment\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"), 0o644)
	got, err := (&DNS{ResolvConf: p}).servers()
	if err != nil || strings.Join(got, ",") != "127.0.0.53:53,[::1]:53" {
		t.Errorf("servers %v, %v", got, err)
	}
	os.WriteFile(p, []byte("search example\n"), 0o644)
	if _, err := (&DNS{ResolvConf: p}).servers(); err == nil {
		t.Error("a resolv.conf without nameserver accepted")
	}
}
