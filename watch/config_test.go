package watch

import (
	"strings"
	"testing"

	"harpy/discovery"
	"harpy/hint"
)

const goodConfig = `profile = "rds-read-pool"
socket = "/var/lib/haproxy/stats"
listen = "127.0.0.1:9101"
reload_command = ["systemctl", "reload", "haproxy"]

[[backend]]
name = "mysql"
min_pool = 2
check = { inter = "2s", fall = 2, rise = 3 }
dns = { name = "_mysql._tcp.db.example.com", nameservers = ["127.0.0.1:53"], interval = "1s", jitter = "100ms" }

[[backend]]
name = "web"
consul = { service = "web", address = "127.0.0.1:8500", wait = "1m" }
`

func TestConfig(t *testing.T) {
	c, err := ParseConfig("w.toml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	bs := c.BuildBackends()
	if len(bs) != 2 || bs[0].Guard.MinPool != 2 || bs[0].Check.Rise != 3 || bs[0].Blocking || !bs[1].Blocking {
		t.Fatalf("backends %+v", bs)
	}
	if d, ok := bs[0].Source.(*discovery.DNS); !ok || d.Kind != "srv" || bs[0].Interval.String() != "1s" {
		t.Errorf("dns source %+v", bs[0].Source)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", goodConfig + "colour = 1\n", "w.toml:15:1: backend[1].colour: unknown field"},
		{"wrong type", strings.Replace(goodConfig, "min_pool = 2", "min_pool = \"2\"", 1), "w.toml:8:12: backend.min_pool: want an integer"},
		{"two sources", goodConfig + "dns = { name = \"x\" }\n", "w.toml:12:3: backend[1]: give exactly one source"},
		{"bad kind", strings.Replace(goodConfig, "interval = \"1s\"", "kind = \"mx\"", 1), "w.toml:10:85: backend[0].dns.kind: \"mx\" is neither srv nor a"},
		{"bad nameserver", strings.Replace(goodConfig, "127.0.0.1:53", "dns.example", 1), "backend[0].dns.nameservers[0]: \"dns.example\" is not IP:port"},
		{"bad duration", strings.Replace(goodConfig, "\"1s\"", "\"1 sec\"", 1), "backend[0].dns.interval: \"1 sec\" is not a duration"},
		{"duplicate", strings.Replace(goodConfig, "name = \"web\"", "name = \"mysql\"", 1), "backend[1].name: \"mysql\" is fed twice"},
		{"injection in name", strings.Replace(goodConfig, "_mysql._tcp.db.example.com", "a\\nb", 1), "backend[0].dns.name: missing or not a DNS name"},
		{"file path relative", goodConfig + "[[file]]\npath = \"etc/hosts\"\ntemplate = \"t\"\n", "w.toml:16:8: file[0].path: \"etc/hosts\" is not an absolute path"},
		{"no socket", strings.Replace(goodConfig, "socket = \"/var/lib/haproxy/stats\"", "", 1), "socket: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("w.toml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !hint.IsInput(err) || hint.Of(err) == "" {
				t.Fatalf("got %v, want %q (bad input with a hint)", err, tc.want)
			}
		})
	}
}
