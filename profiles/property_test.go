package profiles

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"harpy/hversion"
	"harpy/internal/testenv"
)

// randomProfile builds a valid profile that only points at loopback.
func randomProfile(r *rand.Rand) *Profile {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	pickN := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	dur := func() string { return fmt.Sprintf("%d%s", 1+r.IntN(60), pick("ms", "s", "m")) }
	maybe := func() bool { return r.IntN(2) == 0 }
	port := 20000
	nextBind := func() string {
		port++
		return fmt.Sprintf(pick("127.0.0.1:%d", "[::1]:%d", ":%d"), port)
	}
	p := &Profile{Description: "random"}
	p.Global = Global{
		Log:     &Log{Target: pick("127.0.0.1:514", "/dev/log", "127.0.0.1"), Facility: pick("local0", "local2", "local7", "daemon"), Level: pick("", "info", "notice", "debug")},
		Maxconn: r.IntN(100000),
		Mode:    pick("", "daemon", "master-worker"),
	}
	if maybe() {
		p.Global.Chroot = "/var/lib/haproxy"
	}
	if maybe() {
		// 3.0 warns about more threads than this machine's CPUs.
		p.Global.Nbthread = 1 + r.IntN(runtime.NumCPU())
	}
	if maybe() {
		p.Global.StatsSocket = &StatsSocket{Path: "/run/haproxy-test-" + fmt.Sprint(r.IntN(1000)) + ".sock", Mode: pick("", "600", "660"), Level: pick("", "user", "operator", "admin")}
	}
	mode := pick("http", "tcp")
	p.Defaults = Defaults{
		Mode: mode, Retries: r.IntN(5), LogHealthChecks: maybe(), HTTPKeepAlive: maybe(), Maxconn: r.IntN(5000),
		Timeout: Timeouts{Connect: dur(), Client: dur(), Server: dur(), Check: pick("", dur()), Queue: pick("", dur())},
	}
	if mode == "http" {
		p.Defaults.Forwardfor = maybe()
		if maybe() {
			p.Defaults.ForwardforExcept = "127.0.0.0/8"
		}
		p.Defaults.RetryOn = pick("", "all-retryable-errors", "conn-failure empty-response 503")
		p.Defaults.Timeout.HTTPRequest = pick("", dur())
	}
	p.Resolvers = map[string]*Resolvers{}
	for i := range r.IntN(3) {
		p.Resolvers[fmt.Sprintf("dns%d", i)] = &Resolvers{
			Nameservers: []string{fmt.Sprintf("127.0.0.%d:53", 1+r.IntN(5))}, Hold: pick("", dur()),
			ResolveRetries: r.IntN(5), TimeoutRetry: pick("", dur()), TimeoutResolve: pick("", dur()),
			AcceptedPayloadSize: pickN(0, 512, 8192),
		}
	}
	resolverNames := sortedKeys(p.Resolvers)
	newBackend := func(name string, listen bool) *Proxy {
		px := &Proxy{Name: name, Balance: pick("", "roundrobin", "leastconn", "first", "source", "random")}
		pmode := mode
		if maybe() {
			pmode = pick("http", "tcp")
			px.Mode = pmode
		}
		if listen {
			px.Bind = []string{nextBind()}
		}
		switch r.IntN(4) {
		case 0:
		case 1:
			px.Health = &Health{Inter: pick("", dur()), Fall: r.IntN(5), Rise: r.IntN(5)}
		case 2:
			px.Health = &Health{MySQLUser: pick("monitor", "haproxy_check"), Port: pickN(0, 3306)}
		case 3:
			h := &Health{Path: pick("/", "/health", "/health_check.html", "/status?full=1"), Method: pick("", "GET", "HEAD"), Inter: pick("", dur())}
			switch r.IntN(4) {
			case 1:
				h.ExpectStatus = pickN(200, 204, 301)
			case 2:
				h.ExpectString = pick("OK", "ALIVE")
			case 3:
				h.ExpectRegex = pick("Status.+ALIVE", "^ok$", "[0-9]+")
			}
			if maybe() {
				h.Host = "localhost"
			}
			px.Health = h
		}
		if pmode == "http" && maybe() {
			px.StripPrefix = pick("/spark/", "/app/v1/", "/x/")
		}
		if len(resolverNames) > 0 && maybe() {
			px.Resolvers = resolverNames[r.IntN(len(resolverNames))]
			if maybe() {
				px.ServerTemplate = &ServerTemplate{Prefix: "tpl", Count: 1 + r.IntN(10), Address: pick("localhost:8080", "localhost", "_http._tcp.localhost")}
			}
		}
		for i := range r.IntN(6) {
			s := Server{Name: fmt.Sprintf("s%d", i), Address: fmt.Sprintf("127.0.0.%d:%d", 1+r.IntN(200), 1+r.IntN(65535)), Backup: r.IntN(4) == 0, Maxconn: r.IntN(100)}
			if px.Resolvers != "" && maybe() {
				s.Address = fmt.Sprintf("localhost:%d", 1+r.IntN(65535))
			}
			if maybe() {
				w := r.IntN(257)
				s.Weight = &w
			}
			px.Servers = append(px.Servers, s)
		}
		return px
	}
	for i := range 1 + r.IntN(3) {
		p.Backends = append(p.Backends, newBackend(fmt.Sprintf("be_%d", i), false))
	}
	for i := range r.IntN(3) {
		p.Listens = append(p.Listens, newBackend(fmt.Sprintf("ls.%d", i), true))
	}
	for i := range r.IntN(3) + min(1, 1-len(p.Listens)) {
		// A frontend only sends traffic to backends of its own mode.
		fmode := p.effectiveMode(p.Backends[r.IntN(len(p.Backends))])
		var same []string
		for _, b := range p.Backends {
			if p.effectiveMode(b) == fmode {
				same = append(same, b.Name)
			}
		}
		f := &Proxy{Name: fmt.Sprintf("fe-%d", i), Bind: []string{nextBind()}, DefaultBackend: same[r.IntN(len(same))]}
		if fmode != mode {
			f.Mode = fmode
		}
		if fmode == "http" {
			for j := range r.IntN(3) {
				a := ACL{Name: fmt.Sprintf("acl%d", j), Criterion: pick("path_beg", "path_end", "path_reg", "hdr(host)", "src", "method"), Value: pick("/a/", "GET", "127.0.0.1", "^/x")}
				switch a.Criterion {
				case "src":
					a.Value = pick("127.0.0.1", "10.0.0.0/8", "::1")
				case "method":
					a.Value = pick("GET", "POST")
				case "hdr(host)":
					a.Value = pick("localhost", "example.com")
				}
				f.ACL = append(f.ACL, a)
				cond := a.Name
				if maybe() {
					cond = "!" + cond
				}
				f.UseBackend = append(f.UseBackend, UseBackend{Backend: same[r.IntN(len(same))], If: []string{cond}})
			}
		}
		p.Frontends = append(p.Frontends, f)
	}
	if maybe() {
		p.Stats = &Stats{Bind: nextBind(), URI: pick("", "/stats", "/haproxy?stats"), Admin: maybe(), Refresh: pick("", "10s")}
		if maybe() || p.Stats.Admin && !strings.HasPrefix(p.Stats.Bind, "127.") && !strings.HasPrefix(p.Stats.Bind, "[::1]") {
			p.Stats.Auth = "admin:s3cr3t" // an admin page beyond loopback needs auth
		}
	}
	return p
}

// TestRandomProfilesPassHAProxy renders random valid profiles through TOML, the strict
// loader and the renderer, and has Debian's haproxy -c accept every one.
func TestRandomProfilesPassHAProxy(t *testing.T) {
	bin := testenv.Tool(t, debianHAProxy)
	const n = 200
	r := rand.New(rand.NewPCG(1, 2))
	versions := []string{"2.6", "3.0", "3.2"}
	// Every tenth profile is also rendered for 2.2 and 3.0 and judged by harpy's own
	// builds of those releases.
	built := map[string]string{"2.2": testenv.HAProxy(t, "2.2.9"), "3.0": testenv.HAProxy(t, "3.0.11")}
	for i := range n {
		p := randomProfile(r)
		doc, err := toml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("random-%03d.toml", i)
		q, err := Parse(t.Context(), name, doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		v := versions[i%len(versions)]
		out, err := Render(q, Options{HAProxy: hversion.MustParse(v)})
		if err != nil {
			t.Fatalf("render for %s: %v\n%s", v, err, doc)
		}
		if !strings.HasSuffix(string(out.HAProxyCfg), "\n") {
			t.Fatal("no final newline")
		}
		t.Run(name, func(t *testing.T) { t.Parallel(); haproxyC(t, bin, out.HAProxyCfg) })
		if i%10 != 0 {
			continue
		}
		for _, bv := range sortedKeys(built) {
			out, err := Render(q, Options{HAProxy: hversion.MustParse(bv)})
			if err != nil {
				t.Fatalf("render for %s: %v\n%s", bv, err, doc)
			}
			t.Run(name+"@"+bv, func(t *testing.T) { t.Parallel(); haproxyC(t, built[bv], out.HAProxyCfg) })
		}
	}
}

// TestRandomProfilesRender is the fast tier's half of TestRandomProfilesPassHAProxy:
// every random valid profile renders, for every target that has its features, to a
// config that HAProxy's tokenizer reads with only harpy's own keywords.
func TestRandomProfilesRender(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		p := randomProfile(r)
		doc, err := toml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(t.Context(), fmt.Sprintf("random-%03d.toml", i), doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		for _, v := range []string{"2.6", "3.0", "3.2"} {
			out, err := Render(q, Options{HAProxy: hversion.MustParse(v)})
			if err != nil {
				t.Fatalf("render for %s: %v\n%s", v, err, doc)
			}
			checkCfg(t, q, out.HAProxyCfg)
		}
	}
}
