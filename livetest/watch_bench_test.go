package livetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"harpy/discovery"
	"harpy/watch"
)

// sampler sends requests through a proxy without pause and records when each backend
// answered.
type sampler struct {
	mu   sync.Mutex
	seen []sample
	fail int
}

type sample struct {
	at   time.Time
	from string
}

func (s *sampler) run(ctx context.Context, url string) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for ctx.Err() == nil {
		resp, err := c.Get(url)
		now := time.Now()
		s.mu.Lock()
		if err != nil || resp.StatusCode != 200 {
			if ctx.Err() == nil {
				s.fail++
			}
		} else {
			b, _ := io.ReadAll(resp.Body)
			s.seen = append(s.seen, sample{now, string(b)})
		}
		s.mu.Unlock()
		if resp != nil {
			resp.Body.Close()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// first is when from first answered after t; last is when it last answered.
func (s *sampler) first(from string, after time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.seen {
		if x.from == from && x.at.After(after) {
			return x.at, true
		}
	}
	return time.Time{}, false
}

func (s *sampler) last(from string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t time.Time
	for _, x := range s.seen {
		if x.from == from {
			t = x.at
		}
	}
	return t
}

const resolversCfg = `global
    stats socket %[1]s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
resolvers dns
    nameserver ns1 %[2]s
    hold valid 1s
    accepted_payload_size 8192
frontend main
    bind %[3]s
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /health_check.html
    server-template web 4 _http._tcp.app.test resolvers dns init-addr none check inter 200 fall 1 rise 1
`

// BenchmarkWatchDNS: seconds from an SRV record change to the first request on an added
// server and to the last request on a removed one, over 10 changes, for harpy watch
// (1 s interval, Runtime API), harpy watch on a Consul agent's catalog (register and
// deregister, blocking queries) and for HAProxy's own resolvers (server-template, hold
// valid 1 s), on Debian's HAProxy 2.6 and a real dnsmasq; reloads and failed requests,
// then the requests that fail while DNS is down for 40 s.
// bench/watch.sh prints the table.
func BenchmarkWatchDNS(b *testing.B) {
	for _, mode := range []string{"harpy-watch", "haproxy-resolvers", "harpy-watch-consul"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				benchWatch(b, mode)
			}
		})
	}
}

func benchWatch(b *testing.B, mode string) {
	dnsPort := FreeUDPPort(b, "127.0.0.1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bind string
	var port int
	var w *watch.Watcher
	var dns *Proc
	// change applies the i-th record change; outage takes the source away.
	var change func(hosts []string)
	var outage func()
	change = func(hosts []string) {
		dns.Stop()
		dns = StartDnsmasqConf(b, dnsPort, srvConf(port, hosts...))
	}
	outage = func() { dns.Stop() }
	if mode == "harpy-watch-consul" {
		wp := startWatchedProxy(b)
		bind, port = wp.data["Bind"].(string), wp.port
		agent := StartConsul(b)
		cfg := consulapi.DefaultConfig()
		cfg.Address = agent.HTTP
		cl, err := consulapi.NewClient(cfg)
		if err != nil {
			b.Fatal(err)
		}
		register := func(id, ip string) {
			if err := cl.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{ID: id, Name: "app", Port: port, Address: ip}); err != nil {
				b.Fatal(err)
			}
		}
		register("web1.test", "127.0.0.11")
		change = func(hosts []string) {
			if len(hosts) == 2 {
				register("web2.test", "127.0.0.12")
			} else if err := cl.Agent().ServiceDeregister("web2.test"); err != nil {
				b.Fatal(err)
			}
		}
		outage = agent.Stop
		w = &watch.Watcher{Runtime: &watch.HAProxy{Client: wp.h.API}, Persister: wp.persist,
			Backends: []watch.Backend{{Name: "app", Blocking: true, DrainTimeout: 5 * time.Second,
				Source: &discovery.Consul{Service: "app", Address: agent.HTTP, Wait: 30 * time.Second},
				Check:  watch.Check{Enabled: true, Inter: "200ms", Fall: 1, Rise: 1}}}}
		go w.Run(ctx)
	} else if mode == "harpy-watch" {
		wp := startWatchedProxy(b)
		bind, port = wp.data["Bind"].(string), wp.port
		dns = StartDnsmasqConf(b, dnsPort, srvConf(port, "web1.test"))
		w = &watch.Watcher{Runtime: &watch.HAProxy{Client: wp.h.API}, Persister: wp.persist,
			Backends: []watch.Backend{{Name: "app", Interval: time.Second, DrainTimeout: 5 * time.Second,
				Source: &discovery.DNS{Name: "_http._tcp.app.test", Kind: "srv", Servers: []string{"127.0.0.1:" + strconv.Itoa(dnsPort)}, Timeout: 300 * time.Millisecond},
				Check:  watch.Check{Enabled: true, Inter: "200ms", Fall: 1, Rise: 1}}}}
		go w.Run(ctx)
	} else {
		port = FreePortOn(b, "127.0.0.11", "127.0.0.12")
		webServer(b, "web1", fmt.Sprintf("127.0.0.11:%d", port))
		webServer(b, "web2", fmt.Sprintf("127.0.0.12:%d", port))
		dns = StartDnsmasqConf(b, dnsPort, srvConf(port, "web1.test"))
		dir := b.TempDir()
		bind = FreeAddr(b, "127.0.0.1")
		sock := filepath.Join(SocketDir(b), "stats")
		cfg := filepath.Join(dir, "haproxy.cfg")
		writeFile(b, cfg, fmt.Sprintf(resolversCfg, sock, "127.0.0.1:"+strconv.Itoa(dnsPort), bind))
		StartHAProxy(b, DebianHAProxy(b), cfg, sock, bind)
	}
	s := &sampler{}
	go s.run(ctx, "http://"+bind+"/")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := s.first("web1", time.Time{}); ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: web1 never served", mode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var adds, removes []float64
	for i := range 10 {
		add := i%2 == 0
		hosts := []string{"web1.test"}
		if add {
			hosts = append(hosts, "web2.test")
		}
		change(hosts)
		changed := time.Now()
		if add {
			for {
				if at, ok := s.first("web2", changed); ok {
					adds = append(adds, at.Sub(changed).Seconds())
					break
				}
				if time.Since(changed) > 30*time.Second {
					b.Fatalf("%s: web2 never served after change %d", mode, i)
				}
				time.Sleep(20 * time.Millisecond)
			}
		} else {
			// Removed when no request reached web2 for 2 s after the change.
			for {
				last := s.last("web2")
				if time.Since(last) > 2*time.Second && last.After(changed.Add(-time.Hour)) {
					removes = append(removes, max(0, last.Sub(changed).Seconds()))
					break
				}
				if time.Since(changed) > 40*time.Second {
					b.Fatalf("%s: web2 still served 40 s after change %d", mode, i)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	// A DNS outage of 40 s (HAProxy's resolvers give up after hold timeout, 30 s): the
	// requests that fail during it.
	s.mu.Lock()
	before := s.fail
	s.mu.Unlock()
	outage()
	time.Sleep(40 * time.Second)
	s.mu.Lock()
	lost := s.fail - before
	s.mu.Unlock()
	b.ReportMetric(float64(lost), "outage-failed")
	cancel()
	report := func(name string, xs []float64) {
		slices.Sort(xs)
		b.ReportMetric(xs[0], name+"-min-s")
		b.ReportMetric(xs[len(xs)/2], name+"-median-s")
		b.ReportMetric(xs[len(xs)-1], name+"-max-s")
	}
	report("add", adds)
	report("remove", removes)
	s.mu.Lock()
	b.ReportMetric(float64(s.fail), "failed")
	s.mu.Unlock()
	reloads := 0.0
	if w != nil {
		st, _ := w.Status()
		reloads = float64(st.Reloads)
	}
	b.ReportMetric(reloads, "reloads")
}
