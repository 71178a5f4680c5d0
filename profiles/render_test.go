package profiles

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"harpy/check"
	"harpy/hint"
	"harpy/hversion"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Targets are the HAProxy versions every embedded profile is rendered for in tests.
var targets = []string{"1.6", "1.8", "2.2", "2.6", "3.0", "3.2"}

var dists = []string{"el6", "el7", "el8", "el9", "debian"}

// loadFor loads a profile as a user would for target v: before 1.9 (no
// parse-resolv-conf) every resolvers section without nameservers gets one.
func loadFor(t *testing.T, name, v string) *Profile {
	t.Helper()
	p, err := Load(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if hversion.MustParse(v).AtLeast(1, 9) {
		return p
	}
	user := fmt.Sprintf("extends = %q\n", name)
	for _, n := range sortedKeys(p.Resolvers) {
		if r := p.Resolvers[n]; r != nil && len(r.Nameservers) == 0 {
			user += fmt.Sprintf("[resolvers.%s]\nnameservers = [\"10.0.0.2:53\"]\n", n)
		}
	}
	p, err = Parse(t.Context(), "my-"+name+".toml", []byte(user))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func embeddedNames(t *testing.T) []string {
	t.Helper()
	list, err := List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	if len(names) < 3 {
		t.Fatalf("embedded profiles: %v, want at least rds-read-pool, spark-admin, web-lb", names)
	}
	return names
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./profiles -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGoldenHAProxyCfg(t *testing.T) {
	for _, name := range embeddedNames(t) {
		for _, v := range targets {
			t.Run(name+"/"+v, func(t *testing.T) {
				p, err := Load(t.Context(), name)
				if err != nil {
					t.Fatal(err)
				}
				out, err := Render(p, Options{HAProxy: hversion.MustParse(v), Dist: "el9"})
				if err != nil {
					// Pinned, then rendered as a user of that version must write it.
					golden(t, filepath.Join(name, "haproxy-"+v+".err"), []byte(err.Error()+"\n"))
					out, err = Render(loadFor(t, name, v), Options{HAProxy: hversion.MustParse(v), Dist: "el9"})
					if err != nil {
						t.Fatal(err)
					}
				}
				if !bytes.HasSuffix(out.HAProxyCfg, []byte("\n")) {
					t.Error("haproxy.cfg must end with a newline (fatal from 2.3)")
				}
				golden(t, filepath.Join(name, "haproxy-"+v+".cfg"), out.HAProxyCfg)
			})
		}
	}
}

// TestGoldenUserProfiles renders the user profiles in testdata/profiles for every target;
// a version that cannot express one has its error pinned in a .err golden file.
func TestGoldenUserProfiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no user profiles: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		for _, v := range targets {
			t.Run(name+"/"+v, func(t *testing.T) {
				p, err := Load(t.Context(), f)
				if err != nil {
					t.Fatal(err)
				}
				out, err := Render(p, Options{HAProxy: hversion.MustParse(v)})
				if err != nil {
					golden(t, filepath.Join("user", name, "haproxy-"+v+".err"), []byte(err.Error()+"\n"))
					return
				}
				golden(t, filepath.Join("user", name, "haproxy-"+v+".cfg"), out.HAProxyCfg)
			})
		}
	}
}

func TestGoldenLogging(t *testing.T) {
	for _, name := range embeddedNames(t) {
		for _, d := range dists {
			t.Run(name+"/"+d, func(t *testing.T) {
				p, err := Load(t.Context(), name)
				if err != nil {
					t.Fatal(err)
				}
				out, err := Render(p, Options{Dist: d})
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(name, "rsyslog-"+d+".conf"), out.Rsyslog)
				golden(t, filepath.Join(name, "logrotate-"+d), out.Logrotate)
			})
		}
	}
}

// TestVersionForms pins the version-dependent lines the issue names.
func TestVersionForms(t *testing.T) {
	tests := []struct {
		profile, version string
		want, notWant    []string
	}{
		{"spark-admin", "1.6", []string{`reqrep ^([^\ :]*)\ /spark/(.*) \1\ /\2`, "option httpchk GET /\n", "http-check expect rstring Status.+ALIVE"}, []string{"replace-path", "http-check send"}},
		{"spark-admin", "2.0", []string{`reqrep `}, []string{"replace-path", "set-path"}},
		{"spark-admin", "2.1", []string{"http-request set-path %[path,regsub(^/spark/,/)]"}, []string{"reqrep", "replace-path"}},
		{"spark-admin", "2.2", []string{`http-request replace-path ^/spark/(.*) /\1`, "option httpchk\n", "http-check send meth GET uri /\n", "http-check expect rstring Status.+ALIVE"}, []string{"reqrep", "set-path"}},
		{"spark-admin", "3.2", []string{`http-request replace-path ^/spark/(.*) /\1`, "use_backend SRV_SPARK if spark\n", "use_backend SRV_SPARK if static\n"}, []string{"reqrep"}},
		{"web-lb", "1.9", []string{"option httpchk GET /health_check.html\n", "check inter 3000 fall 2 rise 2", "option forwardfor except 127.0.0.0/8", "option redispatch 1", "retries 3", "balance roundrobin", "option http-keep-alive"}, []string{"retry-on", "http-server-close"}},
		{"web-lb", "2.0", []string{"retry-on all-retryable-errors"}, nil},
		{"web-lb", "2.6", []string{"http-check send meth GET uri /health_check.html\n", "retry-on all-retryable-errors"}, []string{"http-server-close"}},
		{"rds-read-pool", "1.6", []string{"option mysql-check user monitor", "balance leastconn", "resolvers vpc\n", "nameserver ns1 10.0.0.2:53", " backup\n", "mode tcp", "listen stats\n    bind 127.0.0.1:1919\n    mode http\n    stats enable",
			"hold timeout 24d\n", "hold refused 24d\n", "hold other 24d\n", "hold nx 30s\n"}, []string{"init-addr", "parse-resolv-conf", "hold obsolete", "check port"}},
		{"rds-read-pool", "1.7", []string{"check inter 10s fall 2 rise 2 resolvers vpc init-addr last,libc,none"}, []string{"check port", "hold obsolete"}},
		{"rds-read-pool", "1.8", []string{"nameserver ns1 10.0.0.2:53\n", "hold obsolete 0s\n"}, []string{"parse-resolv-conf", "check port"}},
		{"rds-read-pool", "1.9", []string{"resolvers vpc\n    parse-resolv-conf\n", "hold timeout 24d\n", "hold nx 30s\n", "hold obsolete 0s\n"}, []string{"nameserver", "169.254.169.253", "check port"}},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+tt.version, func(t *testing.T) {
			p := loadFor(t, tt.profile, tt.version)
			v := hversion.MustParse(tt.version)
			out, err := Render(p, Options{HAProxy: v})
			if err != nil {
				t.Fatal(err)
			}
			cfg := string(out.HAProxyCfg)
			for _, w := range tt.want {
				if !strings.Contains(cfg, w) {
					t.Errorf("missing %q in:\n%s", w, cfg)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(cfg, w) {
					t.Errorf("unexpected %q in:\n%s", w, cfg)
				}
			}
		})
	}
}

// TestRefused: what a target cannot express is an error naming the field, never output.
func TestRefused(t *testing.T) {
	tests := []struct {
		name, version, profile string
		want                   string
	}{
		{"parse-resolv-conf before 1.9", "1.8", `extends = "rds-read-pool"
[resolvers.vpc]
parse_resolv_conf = true
`, "mine.toml:3:21: resolvers.vpc: no nameservers, and HAProxy before 1.9 cannot read the host's /etc/resolv.conf"},
		{"parse-resolv-conf besides nameservers before 1.9", "1.8", `extends = "rds-read-pool"
[resolvers.vpc]
nameservers = ["10.0.0.2:53"]
parse_resolv_conf = true
`, "mine.toml:4:21: resolvers.vpc.parse_resolv_conf: parse-resolv-conf needs HAProxy 1.9+"},
		{"default resolver before 1.9", "1.8", `extends = "rds-read-pool"
`, "rds-read-pool.toml:26:2: resolvers.vpc: no nameservers, and HAProxy before 1.9 cannot read the host's /etc/resolv.conf"},
		{"hold obsolete before 1.8", "1.6", `extends = "rds-read-pool"
[resolvers.vpc]
nameservers = ["10.0.0.2:53"]
hold_obsolete = "5s"
`, "resolvers.vpc.hold_obsolete: hold obsolete needs HAProxy 1.8+"},
		{"server-template before 1.8", "1.7", `extends = "web-lb"
[[backend]]
name = "app"
resolvers = "dns"
server_template = { prefix = "app", count = 3, address = "app.service.consul:80" }
[resolvers.dns]
nameservers = ["127.0.0.1:8600"]
`, "backend[0].server_template: server-template needs HAProxy 1.8+"},
		{"init-addr before 1.7", "1.6", `extends = "web-lb"
[[backend]]
name = "app"
init_addr = "last,libc,none"
`, "backend[0].init_addr: init-addr needs HAProxy 1.7+"},
		{"master-worker before 1.8", "1.7", `extends = "web-lb"
[global]
mode = "master-worker"
`, "global.mode: master-worker needs HAProxy 1.8+"},
		{"before 1.6", "1.5", "web-lb", "older than 1.6"},
		{"resolvers without check on 1.6", "1.6", `extends = "rds-read-pool"
[resolvers.vpc]
parse_resolv_conf = false
nameservers = ["10.0.0.2:53"]
[[listen]]
name = "mysql"
health = { disabled = true }
`, "listen[0].resolvers: resolvers without health checks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Profile
			var err error
			if strings.Contains(tt.profile, "\n") {
				p, err = Parse(t.Context(), "mine.toml", []byte(tt.profile))
			} else {
				p, err = Load(t.Context(), tt.profile)
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := Render(p, Options{HAProxy: hversion.MustParse(tt.version)})
			if err == nil {
				t.Fatalf("rendered for %s, want an error:\n%s", tt.version, out.HAProxyCfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !hint.IsInput(err) || hint.Of(err) == "" {
				t.Errorf("error %q: input error %v, hint %q; want an input error with a hint", err, hint.IsInput(err), hint.Of(err))
			}
			if strings.Contains(tt.want, "/etc/resolv.conf") && !strings.Contains(hint.Of(err), `nameservers = ["IP:53"] in [resolvers.vpc]`) {
				t.Errorf("hint %q does not say how to give nameservers", hint.Of(err))
			}
		})
	}
}

func TestDefaultIsEmbedded(t *testing.T) {
	if _, err := Load(context.Background(), Default); err != nil {
		t.Fatalf("Default %q: %v", Default, err)
	}
}

// TestExplain: every line but the header names where it came from; a user's override
// points into the user's file, an inherited line into the embedded profile.
func TestExplain(t *testing.T) {
	doc := "extends = \"spark-admin\"\n[[backend]]\nname = \"SRV_SPARK\"\nservers = [ { name = \"s1\", address = \"127.0.0.1:8080\" } ]\n"
	p, err := Parse(t.Context(), "mine.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(p, Options{HAProxy: hversion.MustParse("3.0"), Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Render(p, Options{HAProxy: hversion.MustParse("3.0")})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.HAProxyCfg, plain.HAProxyCfg) || plain.Origins != nil {
		t.Fatal("explaining changed the config")
	}
	ann := string(Annotate(out.HAProxyCfg, out.Origins))
	for _, w := range []string{
		"# mine.toml:4:13 backend[0].servers[0]\n",
		"# mine.toml:3:8 backend[0].name\n",
		"# spark-admin.toml:37:16 backend[0].strip_prefix\n",
		"# harpy default for global.mode: runs in the background, as the init scripts and systemd unit expect\n",
	} {
		if !strings.Contains(ann, w) {
			t.Errorf("missing %q in:\n%s", w, ann)
		}
	}
	for i, l := range strings.Split(strings.TrimSuffix(ann, "\n"), "\n") {
		if i > 0 && l != "" && !strings.Contains(l, "  # ") {
			t.Errorf("line %d has no origin: %q", i+1, l)
		}
	}
}

// TestRendersLintClean: harpy's own lint finds nothing in what harpy renders.
func TestRendersLintClean(t *testing.T) {
	for _, name := range embeddedNames(t) {
		for _, v := range targets {
			out, err := Render(loadFor(t, name, v), Options{HAProxy: hversion.MustParse(v)})
			if err != nil {
				t.Fatal(err)
			}
			if fs := check.Lint(out.HAProxyCfg, hversion.MustParse(v)); len(fs) > 0 {
				t.Errorf("%s for %s: %v", name, v, fs)
			}
		}
	}
}

func BenchmarkLoadRender10k(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("extends = \"web-lb\"\n[[backend]]\nname = \"app\"\nservers = [\n")
	for i := range 10000 {
		fmt.Fprintf(&doc, "  { name = \"web%d\", address = \"127.%d.%d.%d:8080\" },\n", i, 1+i/65536, i/256%256, i%256)
	}
	doc.WriteString("]\n")
	data := []byte(doc.String())
	b.ResetTimer()
	for b.Loop() {
		p, err := Parse(b.Context(), "big.toml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Render(p, Options{HAProxy: hversion.MustParse("2.6")}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderEmbedded(b *testing.B) {
	p, err := Load(b.Context(), "rds-read-pool")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Render(p, Options{HAProxy: hversion.MustParse("3.0")}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRetryOnWords(t *testing.T) {
	p, err := Load(t.Context(), "web-lb", `defaults.retry_on=conn-failure empty-response 503`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(p, Options{HAProxy: hversion.MustParse("2.6")})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.HAProxyCfg, []byte("\n    retry-on conn-failure empty-response 503\n")) {
		t.Fatalf("no retry-on line:\n%s", out.HAProxyCfg)
	}
}

// TestExplainKeywords: --explain credits every line of every embedded profile, for every
// target, to a field that may produce its keyword, or to a named harpy rule.
func TestExplainKeywords(t *testing.T) {
	may := map[string][]string{
		"global": {"global"}, "global.log": {"log"}, "global.chroot": {"chroot"}, "global.pidfile": {"pidfile"},
		"global.maxconn": {"maxconn"}, "global.user": {"user"}, "global.group": {"group"},
		"global.mode": {"daemon", "master-worker"}, "global.nbthread": {"nbthread"}, "global.stats_socket": {"stats"},
		"defaults": {"defaults"}, "defaults.mode": {"mode", "option"}, "defaults.retries": {"retries"},
		"defaults.retry_on": {"retry-on", "http-request"}, "defaults.timeout.*": {"timeout"}, "defaults.maxconn": {"maxconn"},
		"defaults.*":  {"option"},
		"resolvers.*": {"resolvers"}, "resolvers.*.nameservers": {"nameserver"}, "resolvers.*.parse_resolv_conf": {"parse-resolv-conf"},
		"resolvers.*.accepted_payload_size": {"accepted_payload_size"}, "resolvers.*.resolve_retries": {"resolve_retries"},
		"resolvers.*.timeout_resolve": {"timeout"}, "resolvers.*.timeout_retry": {"timeout"}, "resolvers.*.hold": {"hold"},
		"resolvers.*.hold_timeout": {"hold"}, "resolvers.*.hold_refused": {"hold"}, "resolvers.*.hold_other": {"hold"},
		"resolvers.*.hold_nx": {"hold"}, "resolvers.*.hold_obsolete": {"hold"},
		"*.name": {"frontend", "backend", "listen"}, "*.bind": {"bind"}, "*.mode": {"mode", "option"}, "*.maxconn": {"maxconn"},
		"*.acl": {"acl"}, "*.strip_prefix": {"http-request", "reqrep"}, "*.use_backend": {"use_backend"},
		"*.default_backend": {"default_backend"}, "*.balance": {"balance"}, "*.health.mysql_user": {"option"},
		"*.health.path": {"option", "http-check"}, "*.health.host": {"option"}, "*.health.expect_status": {"http-check"},
		"*.health.expect_string": {"http-check"}, "*.health.expect_rstring": {"http-check"}, "*.servers": {"server"},
		"*.server_template": {"server-template"},
		"stats":             {"listen", "stats"}, "stats.bind": {"bind"}, "stats.uri": {"stats"}, "stats.refresh": {"stats"},
		"stats.auth": {"stats"}, "stats.admin": {"stats"},
	}
	index := regexp.MustCompile(`\[[0-9]+\]`)
	keyOf := func(field string) []string {
		f := index.ReplaceAllString(field, "")
		parts := strings.Split(f, ".")
		var tries []string
		switch parts[0] {
		case "frontend", "backend", "listen":
			tries = append(tries, "*."+strings.Join(parts[1:], "."))
		case "resolvers":
			parts[1] = "*"
			tries = append(tries, strings.Join(parts, "."))
		case "defaults":
			if len(parts) > 2 && parts[1] == "timeout" {
				tries = append(tries, "defaults.timeout.*")
			}
			tries = append(tries, f, "defaults.*")
		default:
			tries = append(tries, f)
		}
		for _, k := range tries {
			if kws, ok := may[k]; ok {
				return kws
			}
		}
		return nil
	}
	for _, name := range embeddedNames(t) {
		for _, v := range targets {
			out, err := Render(loadFor(t, name, v), Options{HAProxy: hversion.MustParse(v), Explain: true})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out.HAProxyCfg), "\n")
			credited := map[int]bool{}
			for _, o := range out.Origins {
				credited[o.Line] = true
				kw := strings.Fields(lines[o.Line-1])[0]
				if o.Default && o.Rule == "" {
					t.Errorf("%s %s line %d %q: a harpy default (%s) without a reason", name, v, o.Line, lines[o.Line-1], o.Field)
				}
				if o.Rule != "" && o.Field == "" {
					if kw != "log" && kw != "mode" {
						t.Errorf("%s %s line %d %q: credited to the rule %q", name, v, o.Line, lines[o.Line-1], o.Rule)
					}
					continue
				}
				if kws := keyOf(o.Field); !slices.Contains(kws, kw) {
					t.Errorf("%s %s line %d %q: credited to %s, which writes only %v", name, v, o.Line, lines[o.Line-1], o.Field, kws)
				}
			}
			for i, l := range lines {
				if i > 0 && strings.TrimSpace(l) != "" && !credited[i+1] {
					t.Errorf("%s %s line %d %q: credited to nothing", name, v, i+1, l)
				}
			}
		}
	}
}
