package profiles

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"harpy/hint"
	"harpy/hversion"
)

// TestLoadErrors: every bad input names file:line:column and the field.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "description = \"x\"\n[global]\nmaxconns = 4\n",
			[]string{"mine.toml:3:1: global.maxconns: unknown field"}},
		{"unknown key in inline table", "[global]\nlog = { target = \"127.0.0.1:514\", facilty = \"local2\" }\n",
			[]string{"mine.toml:2:35: global.log.facilty: unknown field"}},
		{"wrong type", "[global]\nmaxconn = \"lots\"\n",
			[]string{"mine.toml:2:11: global.maxconn: want an integer, not a TOML string"}},
		{"syntax", "[global\n", []string{"mine.toml:1:"}},
		{"duplicate key", "[global]\nmaxconn = 1\nmaxconn = 2\n", []string{"mine.toml:3:1:", "maxconn"}},
		{"duplicate server", `extends = "web-lb"
[[backend]]
name = "app"
servers = [ { name = "a", address = "127.0.0.1:80" },
            { name = "a", address = "127.0.0.2:80" } ]
`, []string{`mine.toml:5:22: backend[0].servers[1].name: duplicate server name "a"`}},
		{"duplicate proxy", `extends = "web-lb"
[[listen]]
name = "app"
bind = ["127.0.0.1:81"]
`, []string{`mine.toml:3:8: listen[0].name: duplicate name "app" (also backend[0])`}},
		{"bad port", `extends = "web-lb"
[[backend]]
name = "app"
servers = [ { name = "a", address = "127.0.0.1:70000" } ]
`, []string{"mine.toml:4:37: backend[0].servers[0].address:", "70000"}},
		{"no port", `extends = "web-lb"
[[backend]]
name = "app"
servers = [ { name = "a", address = "db.example.com" } ]
`, []string{"mine.toml:4:37: backend[0].servers[0].address:", "has no port"}},
		{"bad address", `extends = "web-lb"
[[backend]]
name = "app"
servers = [ { name = "a", address = "db_1.example.com:80" } ]
`, []string{"mine.toml:4:37: backend[0].servers[0].address:", "not an IP address or DNS name"}},
		{"bad duration", "extends = \"web-lb\"\n[defaults.timeout]\nconnect = \"5 seconds\"\n",
			[]string{`mine.toml:3:11: defaults.timeout.connect: "5 seconds" is not a duration`}},
		{"zero duration", "extends = \"web-lb\"\n[defaults.timeout]\nconnect = \"0s\"\n",
			[]string{`mine.toml:3:11: defaults.timeout.connect`}},
		{"unknown backend", "extends = \"web-lb\"\n[[frontend]]\nname = \"main\"\ndefault_backend = \"nope\"\n",
			[]string{`mine.toml:4:19: frontend[0].default_backend: no backend or listen named "nope"`}},
		{"unknown resolvers", "extends = \"web-lb\"\n[[backend]]\nname = \"app\"\nresolvers = \"dns\"\n",
			[]string{`mine.toml:4:13: backend[0].resolvers: no resolvers section "dns"`}},
		{"stats bind clash", "extends = \"rds-read-pool\"\n[stats]\nbind = \"127.0.0.1:3306\"\n",
			[]string{`mine.toml:3:8: stats.bind: address 127.0.0.1:3306 is already bound by listen[0]`}},
		{"strip prefix in tcp", "extends = \"rds-read-pool\"\n[[listen]]\nname = \"mysql\"\nstrip_prefix = \"/x/\"\n",
			[]string{`mine.toml:4:16: listen[0].strip_prefix: rewriting paths needs mode http`}},
		{"two expects", "extends = \"spark-admin\"\n[[backend]]\nname = \"SRV_SPARK\"\nhealth = { expect_status = 200 }\n",
			[]string{`backend[0].health: give one of expect_status, expect_string, expect_rstring`}},
		{"facility", "extends = \"web-lb\"\n[global.log]\nfacility = \"local9\"\n",
			[]string{`mine.toml:3:12: global.log.facility: "local9" is not one of`}},
		{"log to the network", "extends = \"web-lb\"\n[global.log]\ntarget = \"10.0.0.1:514\"\n",
			[]string{`mine.toml:3:10: global.log.target:`, "loopback"}},
		{"unknown extends", "extends = \"no-such-profile\"\n",
			[]string{`mine.toml:1:11: extends "no-such-profile"`, "no embedded profile"}},
		{"acl flag", "extends = \"spark-admin\"\n[[frontend]]\nname = \"MGMTSRV\"\nacl = [ { name = \"spark\", criterion = \"path_beg\", value = \"-i\" } ]\n",
			[]string{`mine.toml:4:59: frontend[0].acl[0].value: "-i" starts with '-'`}},
		{"template needs a name", "extends = \"web-lb\"\n[resolvers.dns]\nnameservers = [\"127.0.0.1:53\"]\n[[backend]]\nname = \"app\"\nresolvers = \"dns\"\nserver_template = { prefix = \"t\", count = 2, address = \"10.0.0.1:80\" }\n",
			[]string{`mine.toml:7:56: backend[0].server_template.address: "10.0.0.1:80": a server template resolves a DNS name`}},
		{"no nameserver at all", "extends = \"rds-read-pool\"\n[resolvers.vpc]\nparse_resolv_conf = false\n",
			[]string{`mine.toml:3:21: resolvers.vpc.parse_resolv_conf: false with no nameservers`}},
		{"hold nx zero", "extends = \"rds-read-pool\"\n[resolvers.vpc]\nhold_nx = \"0s\"\n",
			[]string{`mine.toml:3:11: resolvers.vpc.hold_nx: "0s" is not a duration`}},
		{"hold beyond HAProxy's timers", "extends = \"rds-read-pool\"\n[resolvers.vpc]\nhold_timeout = \"25d\"\n",
			[]string{`mine.toml:3:16: resolvers.vpc.hold_timeout:`, "more than HAProxy's largest timer"}},
		{"acl not declared", "extends = \"spark-admin\"\n[[frontend]]\nname = \"MGMTSRV\"\nuse_backend = [ { backend = \"SRV_SPARK\", if = [\"sprak\"] } ]\n",
			[]string{`mine.toml:4:48: frontend[0].use_backend[0].if[0]: "sprak" is not an ACL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(t.Context(), "mine.toml", []byte(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if hint.Of(err) == "" {
				t.Errorf("no hint on %v", err)
			}
		})
	}
}

// TestHostileNames: nothing a user writes can add a line or a word to haproxy.cfg.
func TestHostileNames(t *testing.T) {
	hostile := []string{"a\nb", "a b", "a#b", `a"b`, "a'b", "a{b", "a}b", "a\\b", "a\rb", "a\tb", "a\x00b", "a;b", "a$b"}
	fields := []struct {
		name, doc, field string
	}{
		{"backend name", "[[backend]]\nname = %s\n", "backend[0].name"},
		{"server name", "[[backend]]\nname = \"app\"\nservers = [ { name = %s, address = \"127.0.0.1:80\" } ]\n", "backend[0].servers[0].name"},
		{"server address", "[[backend]]\nname = \"app\"\nservers = [ { name = \"a\", address = %s } ]\n", "backend[0].servers[0].address"},
		{"resolvers name", "[resolvers.%s]\nnameservers = [\"127.0.0.1:53\"]\n", "resolvers."},
		{"user", "[global]\nuser = %s\n", "global.user"},
		{"chroot", "[global]\nchroot = %s\n", "global.chroot"},
		{"acl value", "[[frontend]]\nname = \"f\"\nbind = [\":80\"]\ndefault_backend = \"f\"\nacl = [ { name = \"x\", criterion = \"path_beg\", value = %s } ]\n", "frontend[0].acl[0].value"},
		{"health path", "[[backend]]\nname = \"app\"\nhealth = { path = %s }\n", "backend[0].health.path"},
		{"rstring", "[[backend]]\nname = \"app\"\nhealth = { path = \"/\", expect_rstring = %s }\n", "backend[0].health.expect_rstring"},
		{"mysql user", "[[backend]]\nname = \"app\"\nhealth = { mysql_user = %s }\n", "backend[0].health.mysql_user"},
		{"stats auth", "[stats]\nbind = \"127.0.0.1:1\"\nauth = %s\n", "stats.auth"},
		{"log target", "[global]\nlog = { target = %s, facility = \"local0\" }\n", "global.log.target"},
	}
	for _, f := range fields {
		for _, h := range hostile {
			if f.name == "rstring" && (h == "a{b" || h == "a}b" || h == "a;b" || h == "a$b") {
				continue // valid one-word regexes
			}
			if f.name == "acl value" && (h == "a{b" || h == "a}b" || h == "a;b" || h == "a$b") {
				continue // one word, harmless as a path prefix
			}
			if f.name == "stats auth" && (h == "a;b" || h == "a$b" || h == "a{b" || h == "a}b") {
				continue // no colon: rejected below for that reason anyway
			}
			t.Run(f.name+"/"+strings.ToValidUTF8(strings.ReplaceAll(h, "\n", `\n`), "?"), func(t *testing.T) {
				q := tomlQuote(h)
				doc := strings.Replace(f.doc, "%s", q, 1)
				if f.name == "resolvers name" {
					doc = strings.Replace(f.doc, "%s", q, 1)
				}
				p, err := Parse(t.Context(), "hostile.toml", []byte(doc))
				if err == nil {
					out, rerr := Render(p, Options{HAProxy: hversion.MustParse("2.6")})
					if rerr == nil {
						t.Fatalf("accepted %q and rendered:\n%s", h, out.HAProxyCfg)
					}
					return
				}
				msg := err.Error()
				if !strings.Contains(msg, "hostile.toml:") || !strings.Contains(msg, f.field) {
					t.Errorf("error does not name hostile.toml:line:col and %s:\n%s", f.field, msg)
				}
			})
		}
	}
}

func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteString("0123456789abcdef"[r>>4 : r>>4+1])
			b.WriteString("0123456789abcdef"[r&15 : r&15+1])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestExtends: a user file overrides sections by name, keys one by one, lists whole.
func TestExtends(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.toml")
	mine := filepath.Join(dir, "mine.toml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(base, `extends = "rds-read-pool"
description = "ours"
[global]
maxconn = 8000
`)
	write(mine, `extends = "base.toml"
[[listen]]
name = "mysql"
servers = [ { name = "r1", address = "10.0.1.10:3306" }, { name = "m", address = "10.0.1.5:3306", backup = true } ]
[[listen]]
name = "extra"
bind = ["127.0.0.1:3307"]
servers = [ { name = "x", address = "10.0.1.11:3306" } ]
`)
	p, err := Load(t.Context(), mine)
	if err != nil {
		t.Fatal(err)
	}
	if p.Description != "ours" || p.Global.Maxconn != 8000 || p.Global.User != "haproxy" {
		t.Errorf("description %q maxconn %d user %q", p.Description, p.Global.Maxconn, p.Global.User)
	}
	if len(p.Listens) != 2 || p.Listens[0].Name != "mysql" || p.Listens[1].Name != "extra" {
		t.Fatalf("listens: %+v", p.Listens)
	}
	my := p.Listens[0]
	if my.Balance != "leastconn" || my.Health == nil || my.Health.MySQLUser != "monitor" {
		t.Errorf("mysql lost the embedded keys: %+v", my)
	}
	if len(my.Servers) != 2 || my.Servers[0].Name != "r1" || !my.Servers[1].Backup {
		t.Errorf("servers not replaced: %+v", my.Servers)
	}
	// An error in a merged section points into the file that wrote the value.
	write(mine, `extends = "base.toml"
[[listen]]
name = "mysql"
servers = [ { name = "r1", address = "10.0.1.10:0" } ]
`)
	_, err = Load(t.Context(), mine)
	if err == nil || !strings.Contains(err.Error(), mine+":4:38: listen[0].servers[0].address") {
		t.Errorf("error: %v", err)
	}
	write(base, "extends = \"mine.toml\"\n")
	write(mine, "extends = \"base.toml\"\n")
	if _, err = Load(t.Context(), mine); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
}

// TestDrop: a user renames an inherited backend by dropping it and adding another.
func TestDrop(t *testing.T) {
	doc := `extends = "web-lb"
[[frontend]]
name = "main"
default_backend = "web"
[[backend]]
name = "app"
drop = true
[[backend]]
name = "web"
balance = "leastconn"
servers = [ { name = "w1", address = "127.0.0.1:8080" } ]
`
	p, err := Parse(t.Context(), "mine.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(out.HAProxyCfg)
	if strings.Contains(cfg, "backend app") || !strings.Contains(cfg, "backend web\n    balance leastconn") || !strings.Contains(cfg, "default_backend web") {
		t.Errorf("drop/rename:\n%s", cfg)
	}
	// A dropped backend can no longer be used.
	_, err = Parse(t.Context(), "mine.toml", []byte("extends = \"web-lb\"\n[[backend]]\nname = \"app\"\ndrop = true\n"))
	if err == nil || !strings.Contains(err.Error(), `frontend[0].default_backend: no backend or listen named "app"`) {
		t.Errorf("err: %v", err)
	}
}

func TestStatsDisabled(t *testing.T) {
	p, err := Parse(t.Context(), "mine.toml", []byte("extends = \"rds-read-pool\"\n[stats]\ndisabled = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out.HAProxyCfg), "listen stats") {
		t.Errorf("stats still rendered:\n%s", out.HAProxyCfg)
	}
}

func TestSet(t *testing.T) {
	p, err := Load(t.Context(), "web-lb", "backend.app.servers.web10.address=127.0.0.1:8080", "global.maxconn=100", "defaults.timeout.connect=1s")
	if err != nil {
		t.Fatal(err)
	}
	if a := p.Backends[0].Servers[0].Address; a != "127.0.0.1:8080" {
		t.Errorf("address %q", a)
	}
	if p.Global.Maxconn != 100 || p.Defaults.Timeout.Connect != "1s" {
		t.Errorf("maxconn %d connect %q", p.Global.Maxconn, p.Defaults.Timeout.Connect)
	}
	for _, tt := range []struct{ set, want string }{
		{"backend.nope.balance=first", `has no entry named "nope"`},
		{"global.maxconn=lots", "--set global.maxconn: global.maxconn: want an integer, not a TOML string"}, {"global.maxconns=1", "--set global.maxconns: global.maxconns: unknown field"},
		{"backend.app.servers.web10.address=127.0.0.1:0", "--set backend.app.servers.web10.address: backend[0].servers[0].address"},
		{"novalue", "no KEY=VALUE"},
	} {
		if _, err := Load(t.Context(), "web-lb", tt.set); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("--set %s: %v, want %q", tt.set, err, tt.want)
		}
	}
}

// TestRenderValidates: a profile changed in code (as a watcher filling in servers does)
// is checked again by Render.
func TestRenderValidates(t *testing.T) {
	p, err := Load(t.Context(), "web-lb")
	if err != nil {
		t.Fatal(err)
	}
	p.Backends[0].Servers = append(p.Backends[0].Servers, Server{Name: "x\n    user root", Address: "127.0.0.1:80"})
	out, err := Render(p, Options{})
	if err == nil {
		t.Fatalf("rendered:\n%s", out.HAProxyCfg)
	}
	if !strings.Contains(err.Error(), "backend[0].servers[2].name") {
		t.Errorf("error: %v", err)
	}
	built := &Profile{Listens: []*Proxy{{Name: "l", Bind: []string{"127.0.0.1:1"}, Servers: []Server{{Name: "s", Address: "127.0.0.1:0"}}}}}
	if _, err := Render(built, Options{}); err == nil || !strings.Contains(err.Error(), "(profile built in code): listen[0].servers[0].address") {
		t.Errorf("built in code: %v", err)
	}
}

// TestInputErrors: whatever is wrong in a profile, a --set or the path of a profile is
// the user's input (exit 2), with a hint; reading never blocks or runs away.
func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, doc string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		name, profile string
		sets          []string
		want          string
	}{
		{"toml syntax", write("syntax.toml", "[global\n"), nil, "syntax.toml:1:"},
		{"unknown field", write("unknown.toml", "extends = \"web-lb\"\n[global]\nmaxconns = 1\n"), nil, "unknown.toml:3:1: global.maxconns: unknown field"},
		{"wrong type", write("type.toml", "extends = \"web-lb\"\n[global]\nmaxconn = \"x\"\n"), nil, "type.toml:3:"},
		{"invalid value", write("value.toml", "extends = \"web-lb\"\n[global]\nmaxconn = -1\n"), nil, "value.toml:3:11: global.maxconn"},
		{"extends cycle", write("cycle.toml", "extends = \"cycle.toml\"\n"), nil, "more than 8 levels"},
		{"extends dev zero", write("zero.toml", "extends = \"/dev/zero\"\n"), nil, "not a regular file"},
		{"profile is a fifo", fifo, nil, "named pipe"},
		{"profile is a device", "/dev/zero", nil, "character device"},
		{"profile is a directory", dir, nil, "directory"},
		{"no such profile", "nosuch", nil, `no embedded profile and no file`},
		{"no such file", filepath.Join(dir, "nosuch.toml"), nil, "no such file"},
		{"set without =", "web-lb", []string{"global.maxconn"}, "no KEY=VALUE"},
		{"set unknown entry", "web-lb", []string{"backend.nosuch.balance=first"}, `no entry named "nosuch"`},
		{"set unknown field", "web-lb", []string{"global.maxconns=1"}, "unknown field"},
		{"set wrong type", "web-lb", []string{"global.maxconn=[1]"}, "want an integer"},
		{"set invalid value", "web-lb", []string{"global.maxconn=0x7fffffff"}, "--set global.maxconn: global.maxconn"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err := Load(ctx, c.profile, c.sets...)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not say %q:\n%v", c.want, err)
			}
			if !hint.IsInput(err) || hint.Of(err) == "" {
				t.Errorf("not bad input with a hint (input %v, hint %q): %v", hint.IsInput(err), hint.Of(err), err)
			}
		})
	}
}

func TestByteOrderMark(t *testing.T) {
	doc := "\uFEFFextends = \"web-lb\"\n[global]\nmaxconn = -1\n"
	_, err := Parse(t.Context(), "bom.toml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "bom.toml:3:11: global.maxconn") {
		t.Fatalf("want the position counted without the BOM, got %v", err)
	}
	p, err := Parse(t.Context(), "bom.toml", []byte("\uFEFFextends = \"web-lb\"\n[global]\nmaxconn = 10\n"))
	if err != nil || p.Global.Maxconn != 10 {
		t.Fatalf("BOM refused: %v", err)
	}
}

// TestEscapedInErrors: a key or value with a terminal escape sequence or a newline is
// printed escaped, so a profile from elsewhere cannot drive the terminal or forge lines.
func TestEscapedInErrors(t *testing.T) {
	for _, c := range []struct{ name, doc string }{
		{"unknown key", "extends = \"web-lb\"\n[global]\n\"max\\u001b[31mconn\\nharpy: ok\" = 1\n"},
		{"unknown table", "extends = \"web-lb\"\n[\"\\u001b]0;title\\u0007\"]\nx = 1\n"},
		{"bad value", "extends = \"web-lb\"\n[global]\nuser = \"\\u001b[2J\"\n"},
	} {
		_, err := Parse(t.Context(), "esc\x1b[1m.toml", []byte(c.doc))
		if err == nil {
			t.Fatalf("%s: accepted", c.name)
		}
		if strings.ContainsAny(err.Error(), "\x1b\x07") || strings.Contains(err.Error(), "\nharpy: ok") {
			t.Errorf("%s: raw escape in %q", c.name, err.Error())
		}
	}
	_, err := Load(t.Context(), "web-lb", "global.\x1b[31m=1")
	if err == nil || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("--set key printed raw: %q", err)
	}
}

// bigProfile is a profile of n servers.
func bigProfile(n int) []byte {
	var b strings.Builder
	b.WriteString("extends = \"web-lb\"\n[[backend]]\nname = \"app\"\nservers = [\n")
	for i := range n {
		fmt.Fprintf(&b, "  { name = \"s%d\", address = \"10.%d.%d.%d:80\" },\n", i, i>>16, i>>8&255, i&255)
	}
	b.WriteString("]\n")
	return []byte(b.String())
}

// TestExplainBig: --explain on many servers credits the last one to its line. How fast it
// is (positions were once found by rescanning the file for every line) is measured by
// BenchmarkExplain, not here.
func TestExplainBig(t *testing.T) {
	p, err := Parse(t.Context(), "big.toml", bigProfile(20_000))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(p, Options{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	Annotate(out.HAProxyCfg, out.Origins)
	if len(out.Origins) < 20_000 || out.Origins[len(out.Origins)-1].Pos.Line == 0 {
		t.Fatalf("origins: %d, last %+v", len(out.Origins), out.Origins[len(out.Origins)-1])
	}
}

// BenchmarkExplain: parse, render with --explain and annotate, by profile size; the
// time per server should not grow with the size (linear).
func BenchmarkExplain(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		doc := bigProfile(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				p, err := Parse(b.Context(), "big.toml", doc)
				if err != nil {
					b.Fatal(err)
				}
				out, err := Render(p, Options{Explain: true})
				if err != nil {
					b.Fatal(err)
				}
				Annotate(out.HAProxyCfg, out.Origins)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/server")
		})
	}
}
