package initscripts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"harpy/internal/testenv"
)

// TestUnitCommandsRun runs the unit's own command lines the way systemd would
// (this machine has no systemd as PID 1) against harpy's built haproxy:
// ExecStartPre checks, ExecStart runs the master-worker, ExecReload checks and
// then USR2s the master, which replaces its worker while the port keeps
// serving; a broken config fails the check, so no USR2 is sent.
func TestUnitCommandsRun(t *testing.T) {
	bin := testenv.HAProxy(t, "2.6.12")
	unit, err := Unit(UnitOptions{Bin: bin, Notify: testenv.Features(t, "2.6.12")["SYSTEMD"]})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "haproxy.cfg")
	writeCfg := func(extra string) {
		must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
			"global\n    daemon\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string ok\n%s",
			port, extra)), 0o644))
	}
	writeCfg("")
	env := map[string][]string{
		"CONFIG": {cfg}, "PIDFILE": {filepath.Join(dir, "haproxy.pid")},
		"EXTRAOPTS": {"-S", filepath.Join(dir, "master.sock")},
	}
	var pre, start []string
	var reload [][]string
	for _, line := range strings.Split(string(unit), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		var argv []string
		for _, w := range strings.Fields(v) {
			if vals, ok := env[strings.TrimPrefix(w, "$")]; ok && strings.HasPrefix(w, "$") {
				argv = append(argv, vals...)
			} else {
				argv = append(argv, w)
			}
		}
		switch k {
		case "ExecStartPre":
			pre = argv
		case "ExecStart":
			start = argv
		case "ExecReload":
			reload = append(reload, argv)
		}
	}
	if pre == nil || start == nil || len(reload) != 2 {
		t.Fatalf("unit commands: pre %v start %v reload %v", pre, start, reload)
	}
	runArgv := func(argv []string, mainPID int) error {
		for i, a := range argv {
			if a == "$MAINPID" {
				argv = append(slices.Clone(argv[:i]), append([]string{strconv.Itoa(mainPID)}, argv[i+1:]...)...)
			}
		}
		out, err := exec.CommandContext(t.Context(), argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %w: %s", argv, err, out)
		}
		return nil
	}
	must(t, runArgv(pre, 0))
	master := exec.Command(start[0], start[1:]...)
	must(t, master.Start())
	t.Cleanup(func() { master.Process.Kill(); master.Wait() })
	waitServing(t, port)
	workers := func() []string {
		out, _ := exec.Command("pgrep", "-P", strconv.Itoa(master.Process.Pid)).Output()
		return strings.Fields(string(out))
	}
	before := workers()
	if len(before) != 1 {
		t.Fatalf("workers of the master: %v", before)
	}
	for _, argv := range reload {
		must(t, runArgv(argv, master.Process.Pid))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := workers()
		if len(now) == 1 && now[0] != before[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reload did not replace the worker: before %v, now %v", before, now)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitServing(t, port)

	writeCfg("    bogus-directive\n")
	if err := runArgv(pre, 0); err == nil {
		t.Error("ExecStartPre accepted a broken config")
	}
	if err := runArgv(reload[0], master.Process.Pid); err == nil {
		t.Error("ExecReload's check accepted a broken config")
	}
	if master.ProcessState != nil {
		t.Fatal("master exited")
	}
	// systemd stops with SIGTERM (KillMode=mixed: to the master first).
	must(t, master.Process.Signal(syscall.SIGTERM))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- master.Wait() }()
	select {
	case <-done:
		// 0, or 143 from older releases (hence the unit's SuccessExitStatus=143).
		if code := master.ProcessState.ExitCode(); code != 0 && code != 143 {
			t.Errorf("master exit status on SIGTERM: %d; systemd would count the stop as a failure", code)
		}
	case <-ctx.Done():
		t.Fatal("master did not stop")
	}
}
