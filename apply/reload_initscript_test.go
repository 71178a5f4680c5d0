package apply

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"harpy/initscripts"
	"harpy/internal/testenv"
	"harpy/internal/testport"
)

// TestInitScriptReloader: the el6 init script's reload, confirmed through show info's
// Pid and the pidfile, against a real haproxy; a broken config is refused and the old
// process keeps serving.
func TestInitScriptReloader(t *testing.T) {
	bin := testenv.Tool(t, "haproxy")
	dir := t.TempDir()
	script := filepath.Join(dir, "haproxy.init")
	if err := os.WriteFile(script, initscripts.InitScript(), 0o755); err != nil {
		t.Fatal(err)
	}
	port := testport.TCP(t, "127.0.0.1")
	cfg, sock, pidfile := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "stats"), filepath.Join(dir, "haproxy.pid")
	writeCfg := func(extra string) {
		os.WriteFile(cfg, []byte(fmt.Sprintf("global\n    stats socket %s level admin expose-fd listeners\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string ok\n%s", sock, port, extra)), 0o644)
	}
	writeCfg("")
	sysconfig := filepath.Join(dir, "sysconfig")
	os.WriteFile(sysconfig, []byte(fmt.Sprintf("HAPROXY=%s\nCONFIG=%s\nPIDFILE=%s\nLOCKFILE=%s\n", bin, cfg, pidfile, filepath.Join(dir, "lock"))), 0o644)
	env := []string{"HAPROXY_SYSCONFIG=" + sysconfig}
	runScript := func(action string) {
		cmd := exec.Command(script, action)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil && action != "stop" {
			t.Fatalf("%s: %v\n%s", action, err, out)
		}
	}
	runScript("start")
	t.Cleanup(func() { runScript("stop") })
	serving := func() bool {
		c := &http.Client{Timeout: time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	for deadline := time.Now().Add(10 * time.Second); !serving(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("haproxy never served")
		}
	}
	target := LocalTarget{Root: "/"}
	r := &InitScriptReloader{Script: script, Env: env, Socket: sock, Pidfile: pidfile, Timeout: 10 * time.Second}
	if err := r.Reload(t.Context(), target); err != nil {
		t.Fatal(err)
	}
	if err := r.Confirm(t.Context(), target); err != nil {
		t.Fatal(err)
	}
	if r.NewPID == 0 || r.NewPID == r.OldPID || !serving() {
		t.Fatalf("reload: old %d new %d serving %v", r.OldPID, r.NewPID, serving())
	}
	// A broken config: the script refuses, the serving process stays.
	writeCfg("    bogus-directive\n")
	before := r.NewPID
	r2 := &InitScriptReloader{Script: script, Env: env, Socket: sock, Pidfile: pidfile, Timeout: 2 * time.Second}
	err := r2.Reload(t.Context(), target)
	if err == nil || !strings.Contains(err.Error(), "has errors") {
		t.Fatalf("broken config: %v", err)
	}
	if p, _ := r2.pid(t.Context()); p != before || !serving() {
		t.Errorf("after a refused reload: pid %d (was %d), serving %v", p, before, serving())
	}
}
