package profiles

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"harpy/check"
	"harpy/hversion"
	"harpy/internal/testenv"
)

// debianHAProxy is the distribution's haproxy (2.6) that judges every render for 2.6+.
const debianHAProxy = "/usr/sbin/haproxy"

// loopback points every server and nameserver of p at 127.0.0.1: haproxy -c resolves
// server names and a running HAProxy queries its nameservers, and tests talk to
// loopback only. Names stay names ("localhost", from /etc/hosts) where the config needs
// a name.
func loopback(p *Profile) {
	for _, r := range p.Resolvers {
		if r != nil {
			r.ParseResolvConf = nil
			r.Nameservers = []string{"127.0.0.1:5353"}
		}
	}
	for _, list := range [][]*Proxy{p.Frontends, p.Backends, p.Listens} {
		for _, px := range list {
			for i := range px.Servers {
				a, _ := parseAddress(px.Servers[i].Address, ruleServer)
				port := a.Port
				host := "127.0.0.1"
				if px.Resolvers != "" {
					host = "localhost"
				}
				px.Servers[i].Address = host + ":" + strconv.Itoa(max(port, 1))
			}
			if t := px.ServerTemplate; t != nil {
				a, _ := parseAddress(t.Address, ruleTemplate)
				port := a.Port
				t.Address = "localhost"
				if port > 0 {
					t.Address += ":" + strconv.Itoa(port)
				}
			}
		}
	}
}

// needAccounts fails the test when the user and group the embedded profiles run as are
// missing: haproxy -c resolves them while parsing. Debian's haproxy package (installed by
// .ci/deps.sh) creates both.
func needAccounts(t *testing.T) {
	t.Helper()
	if _, err := user.Lookup("haproxy"); err != nil {
		t.Fatalf("user haproxy: %v (install Debian's haproxy package: make deps)", err)
	}
	if _, err := user.LookupGroup("haproxy"); err != nil {
		t.Fatalf("group haproxy: %v (install Debian's haproxy package: make deps)", err)
	}
}

// haproxyC runs the real haproxy -c on cfg and fails the test on an error or warning.
func haproxyC(t *testing.T, binary string, cfg []byte) {
	t.Helper()
	needAccounts(t)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := check.HAProxyOutput(t.Context(), binary, path)
	if err != nil {
		t.Fatalf("%v\n%s", err, numbered(cfg))
	}
	if strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ALERT]") {
		t.Errorf("%s -c warns:\n%s\n%s", binary, out, numbered(cfg))
	}
}

func numbered(cfg []byte) string {
	var b strings.Builder
	for i, l := range strings.Split(string(cfg), "\n") {
		b.WriteString(strconv.Itoa(i+1) + "\t" + l + "\n")
	}
	return b.String()
}

func renderLoopback(t *testing.T, name, version string) *Output {
	t.Helper()
	p, err := Load(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	loopback(p)
	out, err := Render(p, Options{HAProxy: hversion.MustParse(version)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// allProfiles is the embedded profiles and the user profiles in testdata/profiles.
func allProfiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return append(embeddedNames(t), files...)
}

// TestDebianHAProxyAccepts: every render for 2.6 and later passes Debian's haproxy 2.6.
func TestDebianHAProxyAccepts(t *testing.T) {
	testenv.Tool(t, debianHAProxy)
	for _, name := range allProfiles(t) {
		for _, v := range targets {
			if !hversion.MustParse(v).AtLeast(2, 6) {
				continue
			}
			t.Run(name+"/"+v, func(t *testing.T) {
				haproxyC(t, debianHAProxy, renderLoopback(t, name, v).HAProxyCfg)
			})
		}
	}
}

// TestBuiltHAProxyAccepts: the 2.2 and 3.0 renders pass the binaries harpy's pipeline builds.
func TestBuiltHAProxyAccepts(t *testing.T) {
	for _, b := range []struct{ release, target string }{{"2.2.9", "2.2"}, {"3.0.11", "3.0"}} {
		t.Run(b.release, func(t *testing.T) {
			bin := testenv.HAProxy(t, b.release)
			for _, name := range allProfiles(t) {
				t.Run(name, func(t *testing.T) {
					haproxyC(t, bin, renderLoopback(t, name, b.target).HAProxyCfg)
				})
			}
		})
	}
}

// TestRsyslogAccepts: every drop-in passes rsyslogd -N1 inside a minimal main config
// like the distributions' (imuxsock loaded, drop-ins included before the catch-all).
func TestRsyslogAccepts(t *testing.T) {
	rsyslogd := testenv.Tool(t, "rsyslogd")
	for _, name := range embeddedNames(t) {
		for _, d := range dists {
			for _, sock := range []bool{false, true} {
				t.Run(name+"/"+d+"/socket="+strconv.FormatBool(sock), func(t *testing.T) {
					p, err := Load(t.Context(), name)
					if err != nil {
						t.Fatal(err)
					}
					if sock {
						p.Global.Log.Target = "/dev/log"
					}
					out, err := Render(p, Options{Dist: d})
					if err != nil {
						t.Fatal(err)
					}
					dir := t.TempDir()
					dropIn := filepath.Join(dir, "49-haproxy.conf")
					if err := os.WriteFile(dropIn, out.Rsyslog, 0o644); err != nil {
						t.Fatal(err)
					}
					main := "module(load=\"imuxsock\")\n$WorkDirectory " + dir + "\n$IncludeConfig " + dropIn + "\n*.* " + filepath.Join(dir, "messages") + "\n"
					if d == "el6" {
						main = "$ModLoad imuxsock\n$WorkDirectory " + dir + "\n$IncludeConfig " + dropIn + "\n*.* " + filepath.Join(dir, "messages") + "\n"
					}
					conf := filepath.Join(dir, "rsyslog.conf")
					if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
						t.Fatal(err)
					}
					cmd := exec.CommandContext(t.Context(), rsyslogd, "-N1", "-f", conf, "-i", filepath.Join(dir, "pid"))
					b, err := cmd.CombinedOutput()
					if err != nil || strings.Contains(string(b), "error") || strings.Contains(string(b), "warning") {
						t.Fatalf("rsyslogd -N1: %v\n%s\n%s", err, b, out.Rsyslog)
					}
					if sock != strings.Contains(string(out.Rsyslog), "/var/lib/haproxy/dev/log") {
						t.Errorf("socket=%v but the drop-in is:\n%s", sock, out.Rsyslog)
					}
				})
			}
		}
	}
}

// TestLogrotateAccepts: every logrotate file passes logrotate -d.
func TestLogrotateAccepts(t *testing.T) {
	logrotate := testenv.Tool(t, "logrotate")
	for _, name := range embeddedNames(t) {
		for _, d := range dists {
			t.Run(name+"/"+d, func(t *testing.T) {
				p, err := Load(t.Context(), name)
				if err != nil {
					t.Fatal(err)
				}
				// Rotate a log in the test's own directory, not /var/log (where a profile's
				// log file must be): the rendered path is moved there.
				const rendered = "/var/log/haproxy/harpy-test.log"
				dir := t.TempDir()
				p.Logging.File = rendered
				out, err := Render(p, Options{Dist: d})
				if err != nil {
					t.Fatal(err)
				}
				p.Logging.File = filepath.Join(dir, "haproxy.log")
				if err := os.WriteFile(p.Logging.File, []byte("x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				conf := filepath.Join(dir, "haproxy")
				if err := os.WriteFile(conf, bytes.ReplaceAll(out.Logrotate, []byte(rendered), []byte(p.Logging.File)), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.CommandContext(t.Context(), logrotate, "-d", "-s", filepath.Join(dir, "state"), conf)
				b, err := cmd.CombinedOutput()
				if err != nil || strings.Contains(strings.ToLower(string(b)), "error") {
					t.Fatalf("logrotate -d: %v\n%s\n%s", err, b, out.Logrotate)
				}
				if !strings.Contains(string(b), "considering log "+p.Logging.File) {
					t.Errorf("logrotate -d did not consider %s:\n%s", p.Logging.File, b)
				}
			})
		}
	}
}

// TestResolverDefaultsAccepted: the resolvers section as rds-read-pool leaves it
// (parse-resolv-conf, the hold values that outlast a DNS outage) passes the real
// haproxy -c of Debian's 2.6 and of the 2.2.9 and 3.0.11 harpy builds, without a
// warning. Only the servers are moved to loopback.
func TestResolverDefaultsAccepted(t *testing.T) {
	bins := []struct {
		bin    func(t *testing.T) string
		target string
	}{
		{func(t *testing.T) string { return testenv.Tool(t, debianHAProxy) }, "2.6"},
		{func(t *testing.T) string { return testenv.HAProxy(t, "2.2.9") }, "2.2"},
		{func(t *testing.T) string { return testenv.HAProxy(t, "3.0.11") }, "3.0"},
	}
	for _, b := range bins {
		t.Run(b.target, func(t *testing.T) {
			bin := b.bin(t)
			p, err := Load(t.Context(), "rds-read-pool")
			if err != nil {
				t.Fatal(err)
			}
			loopback(p)
			for _, r := range p.Resolvers {
				r.Nameservers, r.ParseResolvConf = nil, nil
			}
			out, err := Render(p, Options{HAProxy: hversion.MustParse(b.target)})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"parse-resolv-conf\n", "hold timeout " + HoldKeep + "\n", "hold nx " + HoldNXDefault + "\n", "hold obsolete 0s\n"} {
				if !bytes.Contains(out.HAProxyCfg, []byte(want)) {
					t.Fatalf("no %q in:\n%s", want, out.HAProxyCfg)
				}
			}
			haproxyC(t, bin, out.HAProxyCfg)
		})
	}
}
