package initscripts

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"harpy/internal/testenv"
	"harpy/internal/testport"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// needTool finds a real tool; real-tool tests never skip (make deps installs them).
func needTool(t *testing.T, name string) string { return testenv.Tool(t, name) }

func TestShellcheck(t *testing.T) {
	sc := needTool(t, "shellcheck")
	dir := t.TempDir()
	for _, name := range Files() {
		t.Run(name, func(t *testing.T) {
			b, err := Read(name)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, dialect := range []string{"sh", "bash"} {
				if out, err := exec.CommandContext(t.Context(), sc, "-s", dialect, f).CombinedOutput(); err != nil {
					t.Errorf("shellcheck -s %s %s: %v\n%s", dialect, name, err, out)
				}
			}
			// dash is Debian's /bin/sh; el's is bash. Both must parse every file.
			for _, sh := range []string{"dash", "bash"} {
				if out, err := exec.CommandContext(t.Context(), sh, "-n", f).CombinedOutput(); err != nil {
					t.Errorf("%s -n %s: %v\n%s", sh, name, err, out)
				}
			}
		})
	}
}

// The seed's upstream 1.6.0 init script had `quiet_check()` without its `{`, so
// every action died on a syntax error. Every function here must open its body.
func TestInitScriptFunctionsHaveBodies(t *testing.T) {
	for i, line := range strings.Split(string(InitScript()), "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), "()") {
			t.Errorf("haproxy.init:%d: function %q has no `{` on its line", i+1, line)
		}
	}
}

func TestUnit(t *testing.T) {
	sa := needTool(t, "systemd-analyze")
	for _, tc := range []struct {
		name string
		o    UnitOptions
		want []string
	}{
		{"notify", UnitOptions{Bin: "/usr/sbin/haproxy", Notify: true},
			[]string{"Type=notify", "ExecStartPre=/usr/sbin/haproxy -Ws -f $CONFIG -c -q $EXTRAOPTS", "ExecReload=/usr/sbin/haproxy -Ws -f $CONFIG -c -q $EXTRAOPTS", "ExecReload=/bin/kill -USR2 $MAINPID", "EnvironmentFile=-/etc/sysconfig/haproxy"}},
		{"simple", UnitOptions{Bin: "/usr/sbin/haproxy", EnvFile: "/etc/default/haproxy"},
			[]string{"Type=simple", "ExecStart=/usr/sbin/haproxy -W -f $CONFIG -p $PIDFILE $EXTRAOPTS", "ExecStartPre=/usr/sbin/haproxy -W -f $CONFIG -c -q $EXTRAOPTS", "EnvironmentFile=-/etc/default/haproxy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Unit(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(b, []byte(w+"\n")) {
					t.Errorf("unit lacks line %q:\n%s", w, b)
				}
			}
			golden(t, filepath.Join("testdata", "haproxy.service."+tc.name), b)
			dir := t.TempDir()
			f := filepath.Join(dir, "haproxy.service")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(t.Context(), sa, "verify", f).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) != 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
	if _, err := Unit(UnitOptions{Bin: "haproxy"}); err == nil {
		t.Error("relative binary path accepted")
	}
}

// A unit that systemd rejects must make the verify check above fail: prove the
// check can fail.
func TestUnitVerifyCatchesErrors(t *testing.T) {
	sa := needTool(t, "systemd-analyze")
	f := filepath.Join(t.TempDir(), "haproxy.service")
	if err := os.WriteFile(f, []byte("[Service]\nType=bogus\nExecStart=haproxy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), sa, "verify", f).CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) == 0 {
		t.Fatal("systemd-analyze verify accepted a broken unit")
	}
}

func TestScriptletsFor(t *testing.T) {
	for _, f := range []Family{SysV, Systemd, Deb} {
		s, err := ScriptletsFor(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range [][]byte{s.PreInstall, s.PostInstall, s.PreRemove, s.PostRemove} {
			if len(b) == 0 {
				t.Errorf("%s: scriptlet %d empty", f, i)
			}
		}
	}
	if _, err := ScriptletsFor("el5"); err == nil {
		t.Error("unknown family accepted")
	}
	el6, _ := ScriptletsFor(SysV)
	if !bytes.Contains(el6.PostInstall, []byte("chkconfig --add haproxy")) || !bytes.Contains(el6.PreRemove, []byte("chkconfig --del haproxy")) {
		t.Error("el6 scriptlets do not register/unregister with chkconfig")
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n%s", path, got)
	}
}

// TestInitScriptLifecycle drives every action of the el6 init script against a
// real haproxy on loopback, under both shells an el6 or Debian host may use.
func TestInitScriptLifecycle(t *testing.T) {
	bin := needTool(t, "haproxy")
	for _, sh := range []string{"bash", "dash"} {
		t.Run(sh, func(t *testing.T) {
			shell := needTool(t, sh)
			dir := t.TempDir()
			script := filepath.Join(dir, "haproxy.init")
			must(t, os.WriteFile(script, InitScript(), 0o755))
			port := freePort(t)
			cfg := filepath.Join(dir, "haproxy.cfg")
			writeCfg := func(extra string) {
				must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
					"global\n    stats socket %s/stats level admin expose-fd listeners\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string ok\n%s",
					dir, port, extra)), 0o644))
			}
			writeCfg("")
			pidfile := filepath.Join(dir, "haproxy.pid")
			lock := filepath.Join(dir, "subsys.lock")
			sysconfig := filepath.Join(dir, "sysconfig")
			must(t, os.WriteFile(sysconfig, []byte(fmt.Sprintf("HAPROXY=%s\nCONFIG=%s\nPIDFILE=%s\nLOCKFILE=%s\n", bin, cfg, pidfile, lock)), 0o644))
			run := func(ctx context.Context, action string) (string, int) {
				cmd := exec.CommandContext(ctx, shell, script, action)
				cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HAPROXY_SYSCONFIG=" + sysconfig}
				out, err := cmd.CombinedOutput()
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("%s: %v", action, err)
				}
				return string(out), code
			}
			expect := func(action string, wantCode int, wantOut string) {
				t.Helper()
				out, code := run(t.Context(), action)
				if code != wantCode || !strings.Contains(out, wantOut) {
					t.Fatalf("%s: exit %d, output %q; want exit %d containing %q", action, code, out, wantCode, wantOut)
				}
			}
			t.Cleanup(func() { run(context.Background(), "stop") })
			pid := func() string { b, _ := os.ReadFile(pidfile); return strings.TrimSpace(string(b)) }

			expect("status", 3, "is stopped")
			expect("check", 0, "")
			expect("bogus", 2, "Usage:")
			expect("condrestart", 0, "") // not running: nothing to do
			if _, err := os.Stat(pidfile); err == nil {
				t.Fatal("condrestart started a stopped service")
			}
			expect("start", 0, "Starting haproxy")
			waitServing(t, port)
			expect("status", 0, "is running")
			expect("start", 0, "already running")
			before := pid()
			expect("reload", 0, "Reloading haproxy")
			waitServing(t, port)
			if after := pid(); after == before || after == "" {
				t.Fatalf("reload kept pid %q (was %q)", after, before)
			}
			// The new process took the listeners over the stats socket (-x), so none was
			// refused while old and new both ran.
			if cmdline, _ := os.ReadFile("/proc/" + pid() + "/cmdline"); !bytes.Contains(cmdline, []byte("-x\x00"+dir+"/stats\x00")) {
				t.Errorf("reload did not pass -x %s/stats: %q", dir, cmdline)
			}
			expect("restart", 0, "Starting haproxy")
			waitServing(t, port)
			before = pid()
			expect("condrestart", 0, "Starting haproxy")
			if pid() == before {
				t.Fatal("condrestart did not restart a running service")
			}
			// A broken config: check fails, reload and restart refuse and keep the proxy up.
			writeCfg("    bogus-directive\n")
			before = pid()
			expect("check", 1, "")
			expect("reload", 1, "has errors")
			expect("restart", 1, "has errors")
			if pid() != before {
				t.Fatal("a failed reload/restart replaced the running process")
			}
			expect("status", 0, "is running")
			writeCfg("")
			expect("stop", 0, "Stopping haproxy")
			expect("status", 3, "is stopped")
			expect("stop", 0, "not running")
			// A dead process with its pid file and lock left behind.
			must(t, os.WriteFile(pidfile, []byte("999999\n"), 0o644))
			expect("status", 1, "dead but pid file exists")
			must(t, os.Remove(pidfile))
			must(t, os.WriteFile(lock, nil, 0o644))
			expect("status", 2, "dead but subsys locked")
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	return testport.TCP(t, "127.0.0.1")
}

func waitServing(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on 127.0.0.1:%d", port)
}
