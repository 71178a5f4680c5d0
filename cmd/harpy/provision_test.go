package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/provision"
	"harpy/sshtarget/sshtest"
)

// TestProvisionSSH runs `harpy provision` against three real sshd hosts whose files live
// under a root directory each, checked by the host's real haproxy (Debian's), its
// version and distribution read over SSH.
func TestProvisionSSH(t *testing.T) {
	var servers []*sshtest.Server
	for range 3 {
		servers = append(servers, sshtest.Start(t))
	}
	dir := t.TempDir()
	inventory := func(name string, extra string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "[defaults]\nset = [\"stats.bind=127.0.0.1:1919\", \"stats.auth=admin:s3cret\"%s]\n", extra)
		for i, s := range servers {
			root := filepath.Join(dir, fmt.Sprintf("root%d", i))
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			osr, _ := os.ReadFile("/etc/os-release")
			os.WriteFile(filepath.Join(root, "etc/os-release"), osr, 0o644)
			host, port, _ := strings.Cut(s.Addr, ":")
			fmt.Fprintf(&b, "[host.web%d]\naddress = %q\nport = %s\nidentity_file = %q\nknown_hosts = %q\nroot = %q\nreload = [\"sh\", \"-c\", \"echo reload >> %s/reloads\"]\n",
				i, host, port, s.IdentityFile, s.KnownHosts, root, root)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	good := inventory("good.toml", "")
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != want {
			t.Fatalf("harpy %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	summary := func(out string) provision.Summary {
		t.Helper()
		var s provision.Summary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("--json: %v\n%s", err, out)
		}
		return s
	}
	reloads := func(i int) string {
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("root%d", i), "reloads"))
		return string(b)
	}
	cfg := func(i int) string {
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("root%d", i), "etc/haproxy/haproxy.cfg"))
		return string(b)
	}

	// A dry run on clean hosts: diffs, nothing written.
	out, _ := run(0, "provision", "--inventory", good, "--dry-run")
	if !strings.Contains(out, "== web0 (") || !strings.Contains(out, "+    stats auth admin:********") || strings.Contains(out, "s3cret") || cfg(0) != "" {
		t.Fatalf("dry run:\n%s", out)
	}
	// First run: three hosts changed and reloaded, the HAProxy version and dist read there.
	out, _ = run(0, "provision", "--inventory", good, "--serial", "2", "--json")
	s := summary(out)
	if s.Changed != 3 || s.Reloads != 3 || s.Hosts[0].HAProxy == "" || !strings.HasPrefix(s.Hosts[0].HAProxy, "2.") || s.Hosts[0].Dist != "debian" || s.Hosts[0].Arch == "" || (s.Hosts[0].Init != "systemd" && s.Hosts[0].Init != "sysvinit") {
		t.Fatalf("first run: %s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Fatal("--json shows the stats password")
	}
	for i := range servers {
		if reloads(i) != "reload\n" || !strings.Contains(cfg(i), "stats auth admin:s3cret") {
			t.Fatalf("host %d: reloads %q, cfg:\n%s", i, reloads(i), cfg(i))
		}
	}
	// Second run: 0 changes, 0 reloads.
	out, _ = run(0, "provision", "--inventory", good, "--json")
	if s := summary(out); s.Changed != 0 || s.Unchanged != 3 || s.Reloads != 0 || reloads(0) != "reload\n" {
		t.Fatalf("second run: %s", out)
	}
	// An override the hosts' haproxy -c refuses never goes live; --serial 1 stops after
	// the first host and the others are not touched.
	before := []string{cfg(0), cfg(1), cfg(2)}
	broken := inventory("broken.toml", `, "backend.app.servers.web10.address=no-such-host.invalid:80"`)
	out, errOut := run(1, "provision", "--inventory", broken, "--serial", "1")
	if !strings.Contains(out, "1 failed, 2 skipped") || !strings.Contains(errOut, "could not resolve address") || !strings.Contains(errOut, "stopped after more than --max-fail 0") {
		t.Fatalf("broken override:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	for i := range servers {
		if cfg(i) != before[i] || reloads(i) != "reload\n" {
			t.Fatalf("host %d changed by a refused config", i)
		}
	}
	// With --max-fail 2 every host is tried, and each refuses it.
	out, _ = run(1, "provision", "--inventory", broken, "--serial", "1", "--max-fail", "2", "--json")
	if s := summary(out); s.Failed != 3 || s.Skipped != 0 {
		t.Fatalf("--max-fail 2: %s", out)
	}
	// --limit: one host's override goes live there only; the dry run shows it first.
	changed := inventory("changed.toml", `, "global.maxconn=2222"`)
	out, _ = run(0, "provision", "--inventory", changed, "--limit", "web1", "--dry-run")
	if !strings.Contains(out, "-    maxconn 4000") || !strings.Contains(out, "+    maxconn 2222") || !strings.Contains(out, "1 changed, 0 unchanged") {
		t.Fatalf("dry run of a change:\n%s", out)
	}
	run(0, "provision", "--inventory", changed, "--limit", "web1")
	if !strings.Contains(cfg(1), "maxconn 2222") || strings.Contains(cfg(0), "maxconn 2222") || reloads(1) != "reload\nreload\n" {
		t.Fatalf("--limit web1: host 1 cfg has 2222: %v, host 0: %v, reloads %q", strings.Contains(cfg(1), "maxconn 2222"), strings.Contains(cfg(0), "maxconn 2222"), reloads(1))
	}
	// A host missing from known_hosts: refused before any host is touched (exit 2); with
	// accept_new_host_keys its key is recorded on first use.
	empty := filepath.Join(dir, "empty_known_hosts")
	os.WriteFile(empty, nil, 0o600)
	tofu := strings.ReplaceAll(string(must(os.ReadFile(good))), servers[2].KnownHosts, empty)
	os.WriteFile(filepath.Join(dir, "unknown.toml"), []byte(tofu), 0o644)
	_, errOut = run(2, "provision", "--inventory", filepath.Join(dir, "unknown.toml"))
	if !strings.Contains(errOut, "host web2: "+empty+" has no key for "+servers[2].Addr) {
		t.Fatalf("unknown host: %s", errOut)
	}
	os.WriteFile(filepath.Join(dir, "tofu.toml"), []byte(strings.Replace(tofu, "[host.web2]", "[host.web2]\naccept_new_host_keys = true", 1)), 0o644)
	run(0, "provision", "--inventory", filepath.Join(dir, "tofu.toml"), "--limit", "web2")
	if b, _ := os.ReadFile(empty); !strings.Contains(string(b), servers[2].Addr[len("127.0.0.1:"):]) {
		t.Fatalf("TOFU did not record the key: %q", b)
	}
	run(0, "provision", "--inventory", filepath.Join(dir, "unknown.toml"), "--limit", "web2")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
