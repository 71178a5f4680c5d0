package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/hint"
)

// writeInv writes an inventory with a key file and a known_hosts beside it.
func writeInv(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"id_test", "known_hosts"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "inventory.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const head = `[defaults]
identity_file = "id_test"
known_hosts = "known_hosts"
`

func TestLoad(t *testing.T) {
	p := writeInv(t, head+`
[group.web]
port = 2222
set = ["global.maxconn=1000"]

[host.b]
address = "10.0.0.2"
groups = ["web"]
set = ["global.maxconn=2000"]
haproxy = "2.6"
command_timeout = "5s"
reload = []

[host.a]
address = "10.0.0.1"
user = "deploy"
consul = { service = "haproxy", port = 80, tags = ["edge"] }
`)
	inv, err := Load(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 2 || inv.Hosts[0].Name != "b" || inv.Hosts[1].Name != "a" {
		t.Fatalf("hosts not in file order: %+v", inv.Hosts)
	}
	b, a := inv.Hosts[0], inv.Hosts[1]
	if b.Port != 2222 || b.User != "root" || a.Port != 22 || a.User != "deploy" {
		t.Errorf("ports/users: b %d %s, a %d %s", b.Port, b.User, a.Port, a.User)
	}
	if strings.Join(b.Sets, " ") != "global.maxconn=1000 global.maxconn=2000" {
		t.Errorf("sets accumulate defaults → groups → host: %q", b.Sets)
	}
	if b.HAProxy.String() != "2.6" || b.CommandTimeout.Seconds() != 5 || len(b.Reload) != 0 || len(a.Reload) == 0 {
		t.Errorf("b: haproxy %s timeout %s reload %q; a reload %q", b.HAProxy, b.CommandTimeout, b.Reload, a.Reload)
	}
	if b.IdentityFile != filepath.Join(filepath.Dir(p), "id_test") {
		t.Errorf("identity file not relative to the inventory: %s", b.IdentityFile)
	}
	if a.Consul == nil || a.Consul.Port != 80 || b.Profile == nil {
		t.Errorf("consul %+v, profile %v", a.Consul, b.Profile)
	}
	sel, err := inv.Select("web")
	if err != nil || len(sel) != 1 || sel[0].Name != "b" {
		t.Errorf("Select(web) = %v, %v", sel, err)
	}
	if sel, _ := inv.Select("a,web"); len(sel) != 2 {
		t.Errorf("Select(a,web) = %v", sel)
	}
	if _, err := inv.Select("nosuch"); err == nil || !hint.IsInput(err) {
		t.Errorf("Select(nosuch) = %v, want bad input", err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // substrings of the error, positions included
	}{
		{"unknown host key", head + "[host.a]\naddress = \"x\"\nadress = \"y\"\n", []string{"inventory.toml:6:1: host.a.adress: unknown field"}},
		{"unknown default key", "[defaults]\nusr = \"root\"\n", []string{":2:1: defaults.usr: unknown field"}},
		{"duplicate host", head + "[host.a]\naddress = \"x\"\n[host.a]\naddress = \"y\"\n", []string{"inventory.toml:6:"}},
		{"same address twice", head + "[host.a]\naddress = \"x\"\n[host.b]\naddress = \"x\"\n", []string{":7:1: host b: same address, port and root as host a (", "inventory.toml:4:2)"}},
		{"missing key file", "[defaults]\nknown_hosts = \"known_hosts\"\n[host.a]\naddress = \"x\"\nidentity_file = \"nope\"\n", []string{":3:2: host a: identity file: stat ", "nope: no such file"}},
		{"missing known_hosts", "[host.a]\naddress = \"x\"\nknown_hosts = \"none\"\n", []string{"known_hosts: stat", "accept_new_host_keys"}},
		{"unknown group", head + "[host.a]\naddress = \"x\"\ngroups = [\"db\"]\n", []string{":6:1: host a: unknown group \"db\""}},
		{"unknown profile", head + "[host.a]\naddress = \"x\"\nprofile = \"nosuch\"\n", []string{":6:1: host a: profile \"nosuch\": no embedded profile"}},
		{"bad override", head + "[host.a]\naddress = \"x\"\nset = [\"nosuch.field=1\"]\n", []string{"host a: --set nosuch.field: nosuch.field: unknown field"}},
		{"bad port", head + "[host.a]\naddress = \"x\"\nport = 70000\n", []string{":6:1: port 70000"}},
		{"no address", head + "[host.a]\nport = 22\n", []string{":4:2: host a: no address"}},
		{"bad timeout", head + "[host.a]\naddress = \"x\"\nconnect_timeout = \"soon\"\n", []string{":6:1: \"soon\": want a positive duration"}},
		{"bad version", head + "[group.g]\nhaproxy = \"two\"\n[host.a]\naddress = \"x\"\ngroups = [\"g\"]\n", []string{":5:1:"}},
		{"host named like group", head + "[group.a]\n[host.a]\naddress = \"x\"\n", []string{"has the name of a group"}},
		{"wrong type", head + "[host.a]\naddress = 5\n", []string{":5:"}},
		{"no hosts", head, []string{"no hosts"}},
		{"unknown dist", head + "[host.a]\naddress = \"x\"\nhaproxy = \"2.6\"\ndist = \"plan9\"\n", []string{"host a: render web-lb for HAProxy 2.6 on plan9:"}},
		{"profile the version cannot express", head + "[host.a]\naddress = \"x\"\nhaproxy = \"1.4\"\ndist = \"debian\"\n", []string{"host a: render web-lb for HAProxy 1.4 on debian:"}},
		{"all problems at once", head + "[host.a]\naddress = \"x\"\ngroups = [\"db\"]\n[host.b]\nport = 0\n", []string{"unknown group", "host b: no address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.Context(), writeInv(t, tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			if !hint.IsInput(err) {
				t.Errorf("not bad input (exit 2): %v", err)
			}
			if hint.Of(err) == "" {
				t.Errorf("no hint: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
