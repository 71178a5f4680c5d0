//go:build nspawn

// The three-host boot test runs with `go test -tags nspawn -run TestNspawnHosts ./livetest`.
// It is kept out of make test for now: 5 of 7 runs passed; one failure was fixed, one SSH
// hang on a host under -race is not understood yet (see the closing note of stop 18).

package livetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestUnitsToMask(t *testing.T) {
	listing := `e2scrub_reap.service      enabled enabled
getty@.service            enabled enabled
haproxy.service           enabled enabled
mariadb.service           enabled enabled
nginx.service             enabled enabled
postgresql.service        enabled enabled
rsyslog.service           enabled enabled
ssh.service               enabled enabled
sshd.service              enabled enabled
systemd-pstore.service    enabled enabled
systemd-timesyncd.service enabled enabled
machines.target           enabled enabled
remote-fs.target          enabled enabled
apt-daily.timer           enabled enabled
logrotate.timer           enabled enabled
ssh.socket                enabled enabled

`
	got := unitsToMask(listing)
	for _, u := range []string{"haproxy.service", "nginx.service", "mariadb.service", "postgresql.service",
		"rsyslog.service", "getty@.service", "apt-daily.timer", "logrotate.timer", "ssh.socket", "e2scrub_reap.service"} {
		if !slices.Contains(got, u) {
			t.Errorf("%s is not masked; masked: %v", u, got)
		}
	}
	for _, u := range []string{"ssh.service", "sshd.service", "systemd-pstore.service", "systemd-timesyncd.service", "machines.target"} {
		if slices.Contains(got, u) {
			t.Errorf("%s is masked; it must stay", u)
		}
	}
	// Every unit that is a timer, or any unit outside the keep list, is masked: a generated
	// listing of arbitrary names never lets one through that keepEnabled does not allow.
	for i := range 200 {
		name := fmt.Sprintf("x%d-%s.%s", i, []string{"nginx", "db", "sshx", "systemd"}[i%4], []string{"service", "timer", "socket", "path"}[i%4])
		got := unitsToMask(name + " enabled enabled\n")
		if keepEnabled(name) == (len(got) == 1) {
			t.Errorf("%s: keep=%v but masked=%v", name, keepEnabled(name), got)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/tmp/a", "/tmp/a"},
		{`/tmp/a\040b`, "/tmp/a b"},
		{`/x\011y\134z`, "/x\ty\\z"},
		{`/trailing\04`, `/trailing\04`},
	} {
		if got := unescapeMount(tc.in); got != tc.want {
			t.Errorf("unescapeMount(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestNspawnHosts boots three real systemd hosts and checks that they are separate hosts
// that serve on their own addresses, and that stopping them leaves no mount behind.
func TestNspawnHosts(t *testing.T) {
	Long(t)
	curl := Tool(t, "curl", "curl")
	var roots []string
	t.Run("hosts", func(t *testing.T) {
		start := time.Now()
		hosts := StartHosts(t, "harpyt", 11, 3)
		t.Logf("3 hosts booted in parallel in %v", time.Since(start).Round(time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		names, ids := map[string]bool{}, map[string]bool{}
		// While the hosts run, their overlays are mounts: the check after the stop can fail.
		for _, h := range hosts {
			if ok, err := isMountPoint(h.Root); err != nil || !ok {
				t.Errorf("%s: %s is not a mount point while the host runs (%v)", h.Name, h.Root, err)
			}
		}
		// The masks and the sshd drop-in live in the overlays, not in the machine's /.
		for _, p := range []string{"/etc/systemd/system/nginx.service", "/etc/systemd/system/haproxy.service",
			"/etc/ssh/sshd_config.d/00-harpy-livetest.conf", "/etc/ssh/harpy_test_host_ed25519_key"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s exists on the machine's /: a host wrote through its overlay", p)
			}
		}
		if _, err := os.Lstat(filepath.Join(hosts[0].Root, "etc/systemd/system/nginx.service")); err != nil {
			t.Errorf("nginx.service is not masked inside %s: %v", hosts[0].Name, err)
		}
		for _, h := range hosts {
			roots = append(roots, h.Root)
			t.Logf("host %s (%s): booted %s in %v", h.Name, h.Addr, h.State, h.BootTime.Round(time.Millisecond))
			out, err := h.Run(ctx, "systemctl is-system-running")
			if st := strings.TrimSpace(out); st != "running" && st != "degraded" {
				t.Errorf("%s: is-system-running = %q (%v)", h.Name, st, err)
			}
			hn, err := h.Run(ctx, "hostname")
			if err != nil {
				t.Fatal(err)
			}
			id, err := h.Run(ctx, "cat /etc/machine-id")
			if err != nil {
				t.Fatal(err)
			}
			hn, id = strings.TrimSpace(hn), strings.TrimSpace(id)
			if hn != h.Name {
				t.Errorf("%s: hostname = %q", h.Name, hn)
			}
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
				t.Errorf("%s: machine-id = %q", h.Name, id)
			}
			names[hn], ids[id] = true, true
			// systemd in the host is PID 1.
			if comm, err := h.Run(ctx, "cat /proc/1/comm"); err != nil || strings.TrimSpace(comm) != "systemd" {
				t.Errorf("%s: PID 1 is %q (%v), want systemd", h.Name, comm, err)
			}
		}
		if len(names) != 3 || len(ids) != 3 {
			t.Errorf("hostnames %v and machine ids %v are not 3 distinct values each", names, ids)
		}
		if host, err := os.ReadFile("/etc/machine-id"); err == nil && ids[strings.TrimSpace(string(host))] {
			t.Errorf("a host shares this machine's id %s", host)
		}

		// The files StartHost returns let an SSH client verify and log in on its own.
		h := hosts[0]
		checkKnownHosts(t, h)
		checkHostKeysDiffer(t, hosts)

		// Debian's haproxy, unmasked and started inside one host, bound to its own address.
		out, err := h.Run(ctx, "dpkg-query -W -f='${Status} ${Version}' haproxy")
		if err != nil || !strings.HasPrefix(out, "install ok installed ") {
			t.Fatalf("dpkg-query haproxy in %s: %q %v", h.Name, out, err)
		}
		if out, err := h.Run(ctx, "dpkg -l haproxy"); err != nil || !strings.Contains(out, "ii  haproxy") {
			t.Errorf("dpkg -l haproxy: %q %v", out, err)
		}
		cfgPath := filepath.Join(h.Root, "etc/haproxy/haproxy.cfg")
		cfg, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.Split(string(cfg), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == "bind" {
				continue
			}
			kept = append(kept, line)
		}
		body := "served by " + h.Name
		newCfg := strings.TrimRight(strings.Join(kept, "\n"), "\n") + fmt.Sprintf(`

frontend livetest
	mode http
	bind %s:80
	http-request return status 200 content-type text/plain string "%s"
`, h.Addr, body)
		if err := os.WriteFile(cfgPath, []byte(newCfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := h.writeFile("/etc/haproxy/.written-by-test", "", 0o644); err != nil {
			t.Fatal(err)
		}
		if real, _ := os.ReadFile("/etc/haproxy/haproxy.cfg"); strings.Contains(string(real), "frontend livetest") {
			t.Fatal("the overlay wrote through to the machine's /etc/haproxy/haproxy.cfg")
		}
		if _, err := os.Stat("/etc/haproxy/.written-by-test"); err == nil {
			t.Fatal("the overlay wrote through to the machine's /etc/haproxy")
		}
		if out, err := h.Run(ctx, "systemctl unmask haproxy.service && systemctl start haproxy.service && systemctl is-active haproxy.service"); err != nil {
			st, _ := h.Run(ctx, "systemctl status --no-pager haproxy.service; journalctl -u haproxy --no-pager | tail -20")
			t.Fatalf("start haproxy in %s: %q %v\n%s", h.Name, out, err, st)
		}
		addr := net.JoinHostPort(h.Addr, "80")
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial haproxy in %s at %s: %v", h.Name, addr, err)
		}
		fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := io.ReadAll(conn)
		conn.Close()
		if err != nil || !regexp.MustCompile(`^HTTP/1\.[01] 200 `).Match(resp) || !strings.Contains(string(resp), body) {
			t.Errorf("GET http://%s/ over TCP: %q %v", addr, resp, err)
		}
		if out, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "5", "http://"+addr+"/").CombinedOutput(); err != nil || string(out) != body {
			t.Errorf("curl http://%s/: %q %v", addr, out, err)
		}
		// It binds only its own address: the other hosts' addresses have nothing on port 80.
		for _, o := range hosts[1:] {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(o.Addr, "80"), time.Second); err == nil {
				c.Close()
				t.Errorf("%s:80 answers; haproxy in %s should bind %s only", o.Addr, h.Name, h.Addr)
			}
		}

		// Stop is bounded and leaves the host unreachable.
		stopStart := time.Now()
		hosts[2].Stop()
		t.Logf("host %s stopped in %v", hosts[2].Name, time.Since(stopStart).Round(time.Millisecond))
		if _, err := hosts[2].Run(ctx, "true"); err == nil {
			t.Errorf("%s still answers SSH after Stop", hosts[2].Name)
		}
	})
	// The subtest's cleanups stopped the hosts and unmounted their overlays.
	if len(roots) != 3 {
		t.Fatalf("hosts did not boot (%d roots)", len(roots))
	}
	points, err := MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, r+"/") || strings.HasPrefix(p, filepath.Dir(r)+"/") {
				t.Errorf("mount %s is left behind after the hosts stopped", p)
			}
		}
	}
}

// checkKnownHosts logs in with KeyFile, checking the host key against KnownHosts, as any
// SSH client given these two files would.
func checkKnownHosts(t *testing.T, h *Host) {
	t.Helper()
	cb, err := knownhosts.New(h.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatalf("parse %s: %v", h.KeyFile, err)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(h.Addr, "22"), &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh with %s and %s: %v", h.KeyFile, h.KnownHosts, err)
	}
	c.Close()
}

// checkHostKeysDiffer: one host's known_hosts rejects another host's key, so a client that
// reaches the wrong host is told.
func checkHostKeysDiffer(t *testing.T, hosts []*Host) {
	t.Helper()
	cb, err := knownhosts.New(hosts[0].KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	wrong := &net.TCPAddr{IP: net.ParseIP(hosts[0].Addr), Port: 22}
	if err := cb(hosts[0].Addr+":22", wrong, hosts[1].hostKey); err == nil {
		t.Errorf("%s's known_hosts accepts %s's host key", hosts[0].Name, hosts[1].Name)
	}
	if err := cb(hosts[0].Addr+":22", wrong, hosts[0].hostKey); err != nil {
		t.Errorf("%s's known_hosts rejects its own host key: %v", hosts[0].Name, err)
	}
}
