package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/hint"
	"harpy/hversion"
)

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in   string
		rule addrRule
		word string // "" means refused
		err  string // part of the refusal
	}{
		{"127.0.0.1:80", ruleServer, "127.0.0.1:80", ""},
		{"[::1]:8080", ruleServer, "::1:8080", ""},
		{"app.example.com:80", ruleServer, "app.example.com:80", ""},
		{"localhost:1", ruleServer, "localhost:1", ""},
		{"*:80", ruleBind, "*:80", ""},
		{":80", ruleBind, ":80", ""},
		{"::1:80", ruleBind, "::1:80", ""},
		{"10.0.0.2:53", ruleNameserver, "10.0.0.2:53", ""},
		{"_http._tcp.example.com", ruleTemplate, "_http._tcp.example.com", ""},
		{"127.0.0.1", ruleLogTarget, "127.0.0.1", ""},

		// The injection of issue 9 and its relatives. HAProxy reads no zone id at all
		// (haproxy -c: "invalid address", "could not resolve"), so none is accepted.
		{"[fe80::1%eth0]:80", ruleServer, "", `HAProxy reads no IPv6 zone id ("%eth0")`},
		{"[fe80::1%lo]:80", ruleBind, "", "zone id"},
		{"[fe80::1%eth0]:53", ruleNameserver, "", "zone id"},
		{"fe80::1%eth0", ruleInitAddr, "", "zone id"},
		{"[fe80::1%lo:80 init-addr none\nlisten evil\n    bind *:9999\n#]:80", ruleServer, "", "blank, control"},
		{"[fe80::1%lo#x]:80", ruleServer, "", `zone id ("%lo#x")`},
		{"[fe80::1%lo\"x]:80", ruleServer, "", "zone id"},
		{"[fe80::1%lo\\x]:80", ruleBind, "", "zone id"},
		{"[fe80::1%'x]:53", ruleNameserver, "", "zone id"},
		{"fe80::1%${HOME}", ruleInitAddr, "", "zone id"},
		{"[fe80::1%]:80", ruleServer, "", "zone id"},
		{"[fe80::1%abcdefghijklmnop]:80", ruleServer, "", "zone id"},
		{"[fe80::1%lo%lo]:80", ruleServer, "", "zone id"},
		{"[fe80::1%\u2028]:80", ruleServer, "", "non-ASCII"},
		{"[fe80::1%é]:80", ruleServer, "", "non-ASCII"},
		{"10.0.0.1%eth0:80", ruleServer, "", "HAProxy reads no '%'"},
		{"[::ffff:10.0.0.1%eth0]:80", ruleServer, "", "zone id"},
		{"[fe80::1%eth0]:80\t", ruleBind, "", "blank, control"},

		{"256.1.1.1:80", ruleServer, "", "not a valid IPv4 address"},
		{"10.1:80", ruleServer, "", "not a valid IPv4 address"},
		{"1.2.3.4.5:80", ruleServer, "", "not a valid IPv4 address"},
		{"10.0.0.1:0", ruleServer, "", "port"},
		{"10.0.0.1:65536", ruleServer, "", "port"},
		{"10.0.0.1:080", ruleServer, "", "port"},
		{"10.0.0.1:+80", ruleServer, "", "port"},
		{"10.0.0.1", ruleServer, "", "no port"},
		{"[::1]", ruleServer, "", "no port"},
		{"[10.0.0.1]:80", ruleServer, "", "brackets"},
		{"[::1:80", ruleServer, "", "no ']'"},
		{"[::1]80", ruleServer, "", "after ']'"},
		{"*:80", ruleServer, "", "no host"},
		{"db.example.com:3306", ruleBind, "", "IP address here"},
		{"db.example.com:53", ruleNameserver, "", "IP address here"},
		{"10.0.0.1:53", ruleInitAddr, "", "no port"},
		{"a..b:80", ruleServer, "", "not an IP address or DNS name"},
		{"-a.example:80", ruleServer, "", "not an IP address or DNS name"},
		{"", ruleServer, "", "empty"},
	} {
		t.Run(strings.ToValidUTF8(c.in, "?"), func(t *testing.T) {
			a, err := parseAddress(c.in, c.rule)
			if c.word == "" {
				if err == nil {
					t.Fatalf("accepted, as %q", a.Word())
				}
				if !strings.Contains(err.msg, c.err) || err.hint == "" {
					t.Fatalf("error %q (hint %q), want it to say %q and give a hint", err.msg, err.hint, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if a.Word() != c.word {
				t.Fatalf("word %q, want %q", a.Word(), c.word)
			}
			if cfgWord(a.Word()) != nil {
				t.Fatalf("accepted %q is not one config word", a.Word())
			}
		})
	}
}

// TestAddressFieldsRefuseZoneInjection puts the zone-id injection of issue 9 into every
// address field, through --set as in the report and through a file, and wants a
// refusal with the field's position and a hint, marked as bad input.
func TestAddressFieldsRefuseZoneInjection(t *testing.T) {
	const evil = "fe80::1%lo:80 init-addr none\nlisten evil\n    bind *:9999\n    server s 127.0.0.1:22\n#"
	for _, c := range []struct {
		profile, key, value, field string
	}{
		{"web-lb", "backend.app.servers.web10.address", "[" + evil + "]:80", "backend[0].servers[0].address"},
		{"web-lb", "frontend.main.bind", `["[` + strings.ReplaceAll(evil, "\n", `\n`) + `]:80"]`, "frontend[0].bind[0]"},
		{"web-lb", "stats.bind", "[" + evil + "]:8404", "stats.bind"},
		{"rds-read-pool", "resolvers.vpc.nameservers", `["[` + strings.ReplaceAll(evil, "\n", `\n`) + `]:53"]`, "resolvers.vpc.nameservers[0]"},
		{"rds-read-pool", "listen.mysql.init_addr", "last," + evil, "listen[0].init_addr"},
		{"rds-read-pool", "global.log.target", "[" + evil + "]:514", "global.log.target"},
		{"web-lb", "backend.app.servers.web10.address", "[fe80::1%lo#]:80", "backend[0].servers[0].address"},
		{"web-lb", "frontend.main.bind", `["[fe80::1%x y]:80"]`, "frontend[0].bind[0]"},
	} {
		t.Run(c.key, func(t *testing.T) {
			p, err := Load(t.Context(), c.profile, c.key+"="+c.value)
			if err == nil {
				out, rerr := Render(p, Options{HAProxy: hversion.MustParse("3.0")})
				if rerr == nil {
					t.Fatalf("accepted and rendered:\n%s", out.HAProxyCfg)
				}
				err = rerr
			}
			msg := err.Error()
			if !strings.Contains(msg, "--set "+c.key) || !strings.Contains(msg, c.field) {
				t.Errorf("error does not name --set %s and %s:\n%s", c.key, c.field, msg)
			}
			if !hint.IsInput(err) || hint.Of(err) == "" {
				t.Errorf("error is not bad input with a hint (input %v, hint %q)", hint.IsInput(err), hint.Of(err))
			}
		})
	}
}

func TestCfgWord(t *testing.T) {
	for _, c := range []struct {
		word string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"^/spark/(.*)", true},
		{`/\1`, true},
		{`^([^\ :]*)\ /spark/(.*)`, true},
		{`HTTP/1.1\r\nHost:\ example.com`, true},
		{"^ok$", true},
		{"%[path,regsub(^/x/,/)]", true},
		{"", false},
		{"a b", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x00b", false},
		{"a\x7fb", false},
		{"a#b", false},
		{`a"b`, false},
		{"a'b", false},
		{`a\`, false},
		{`a\#`, false},
		{`a\x41`, false},
		{`a\\b`, false},
		{"a\u2028b", false},
		{"a\u0085b", false},
		{"é", false},
	} {
		err := cfgWord(c.word)
		if (err == nil) != c.ok {
			t.Errorf("cfgWord(%q) = %v, want ok=%v", c.word, err, c.ok)
		}
	}
}

// TestChokePoint proves the renderer refuses what validation misses: a profile built in
// code is changed after validation (as a watcher filling in servers could), and every
// hostile value must make Render fail naming the field, never reach the output.
func TestChokePoint(t *testing.T) {
	for _, bad := range []string{"x\nlisten evil", "x y", "x#", `x"`, "x'", `x\`, "x\r", "x\x00", "x\u2028"} {
		p, err := Load(t.Context(), "web-lb")
		if err != nil {
			t.Fatal(err)
		}
		w := &cfgWriter{v: hversion.MustParse("3.0"), p: p}
		w.line(from("backend.0.servers.0"), "server", "web10", bad)
		if w.err == nil || strings.Contains(w.b.String(), bad) {
			t.Fatalf("%q was written: %q", bad, w.b.String())
		}
		if !strings.Contains(w.err.Error(), "backend[0].servers[0]") || !hint.IsInput(w.err) {
			t.Errorf("%q: error does not name the field or is not bad input: %v", bad, w.err)
		}
		if len(bad) > 0 {
			w2 := &cfgWriter{v: hversion.MustParse("3.0"), p: p}
			w2.section(from("listen.0.name"), "listen", bad)
			if w2.err == nil || w2.b.Len() != 0 {
				t.Fatalf("section %q was written", bad)
			}
		}
	}
	words := make([]string, maxWords+1)
	for i := range words {
		words[i] = "w"
	}
	w := &cfgWriter{v: hversion.MustParse("3.0"), p: &Profile{Name: "x"}}
	w.line(byRule("test"), words...)
	if w.err == nil {
		t.Fatal("a line of 65 words was written")
	}
}

// TestWeakSpots: values HAProxy, rsyslog or logrotate would take to harm the host, or
// refuse only later, are refused with file:line:column and a hint of their own.
func TestWeakSpots(t *testing.T) {
	for _, c := range []struct {
		name string
		set  string
		want string // "" means accepted
	}{
		{"log file over passwd", "logging.file=/etc/passwd", "--set logging.file: logging.file: \"/etc/passwd\" is outside the directories for log files"},
		{"log file under var log", "logging.file=/var/log/haproxy/app.log", ""},
		{"log file is var log itself", "logging.file=/var/log/", "outside the directories"},
		{"log file via dot", "logging.file=/var/log/./../../etc/shadow", "not an absolute path"},
		{"pidfile over etc", "global.pidfile=/etc/shadow", "global.pidfile: \"/etc/shadow\" is outside the directories for pid files"},
		{"pidfile in run", "global.pidfile=/run/haproxy.pid", ""},
		{"socket over etc", "global.stats_socket.path=/etc/passwd", "outside the directories for sockets"},
		{"socket too long", "global.stats_socket.path=/run/" + strings.Repeat("s", 93), "is 98 bytes; a unix socket path holds at most 97"},
		{"socket 97 bytes", "global.stats_socket.path=/run/" + strings.Repeat("s", 92), ""},
		{"log socket too long", "global.log.target=/" + strings.Repeat("l", 90), "global.log.target: \"/var/lib/haproxy/" + strings.Repeat("l", 90) + "\" is 107 bytes"},
		{"world-writable admin socket", "global.stats_socket.mode=\"666\"", "mode 666 lets every local user write to the admin socket"},
		{"world-writable admin socket asked for", "global.stats_socket.insecure=true\x00global.stats_socket.mode=\"666\"", ""},
		{"chroot is root", "global.chroot=/", "system directory"},
		{"chroot in etc", "global.chroot=/etc/haproxy", "system directory"},
		{"timer too long", "defaults.timeout.client=25d", "\"25d\" is 2160000000 ms, more than HAProxy's largest timer"},
		{"timer at the limit", "defaults.timeout.client=24d", ""},
		{"timer in hours", "defaults.timeout.client=596524h", "largest timer"},
		{"check inter too long", "backend.app.health.inter=\"999999999\"", ""},
		{"check inter over", "backend.app.health.inter=\"9999999999\"", "not a duration"},
		{"numeric name", "backend.app.servers.web10.address=256.1.1.1:80", "\"256.1.1.1\" is not a valid IPv4 address"},
		{"public admin page without auth", "stats.bind=*:8404\x00stats.admin=true", "stats.admin: an admin stats page on *:8404 without auth"},
		{"public admin page with auth", "stats.bind=*:8404\x00stats.admin=true\x00stats.auth=admin:pw", ""},
		{"public admin page asked for", "stats.bind=10.0.0.1:8404\x00stats.admin=true\x00stats.insecure=true", ""},
		{"loopback admin page", "stats.admin=true", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := "extends = \"web-lb\"\n[stats]\nbind = \"127.0.0.1:8404\"\n[logging]\nrotate = 7\n"
			path := filepath.Join(t.TempDir(), "wt.toml")
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := Load(t.Context(), path, strings.Split(c.set, "\x00")...)
			if err == nil {
				_, err = Render(p, Options{HAProxy: hversion.MustParse("3.0")})
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) || !hint.IsInput(err) || hint.Of(err) == "" {
				t.Fatalf("want %q, bad input with a hint; got %v (hint %q)", c.want, err, hint.Of(err))
			}
		})
	}
}

func TestNbthreadLimit(t *testing.T) {
	p, err := Load(t.Context(), "web-lb", "global.nbthread=65")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(p, Options{HAProxy: hversion.MustParse("2.6")}); err == nil || !strings.Contains(err.Error(), "more than 64 threads needs HAProxy 2.7+") {
		t.Fatalf("2.6 with 65 threads: %v", err)
	}
	if _, err := Render(p, Options{HAProxy: hversion.MustParse("3.0")}); err != nil {
		t.Fatalf("3.0 with 65 threads: %v", err)
	}
}

func TestACLValueTypes(t *testing.T) {
	for _, c := range []struct {
		criterion, value string
		ok               bool
	}{
		{"src", "10.0.0.1", true}, {"src", "10.0.0.0/8", true}, {"src", "2001:db8::/32", true},
		{"src", "256.1.1.1", false}, {"src", "example.com", false}, {"src", "fe80::1%eth0", false},
		{"dst_port", "443", true}, {"dst_port", "8000:8999", true}, {"dst_port", "0", false},
		{"dst_port", "70000", false}, {"dst_port", "9:8", false}, {"dst_port", "http", false},
		{"method", "GET", true}, {"method", "get", false}, {"method", "G-T", false},
		{"hdr(host)", "example.com", true}, {"hdr_beg(host)", "www.", true}, {"hdr_end(host)", "/x", false},
		{"path_beg", "/static/", true}, {"path_reg", "^/x[0-9]+$", true}, {"path_reg", "(", false},
	} {
		doc := "extends = \"spark-admin\"\n[[frontend]]\nname = \"MGMTSRV\"\nacl = [ { name = \"spark\", criterion = " +
			tomlQuote(c.criterion) + ", value = " + tomlQuote(c.value) + " }, { name = \"static\", criterion = \"path_beg\", value = \"/static/\" } ]\n"
		_, err := Parse(t.Context(), "acl.toml", []byte(doc))
		if (err == nil) != c.ok {
			t.Errorf("%s %q: %v, want ok=%v", c.criterion, c.value, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "acl.toml:4:") {
			t.Errorf("%s %q: no position: %v", c.criterion, c.value, err)
		}
	}
}
