package livetest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWebLBReload reloads the rendered web-lb config three times under wrk load, the two
// ways harpy's packages reload: the systemd unit's (master-worker, USR2 to the master,
// listeners handed to the new worker) and the el6 init script's (a new process with -sf
// that binds the port anew while the old one finishes), plus -sf with -x, where the new
// process takes the listening sockets over the stats socket (`expose-fd listeners`).
// Failed requests are counted; the master-worker reload must lose none. Plain -sf can
// lose the connections waiting in the old process's accept queue (measured, not asserted).
func TestWebLBReload(t *testing.T) {
	Long(t)
	for _, c := range []struct {
		name     string
		mustZero bool
	}{
		{"master-worker-usr2", true},
		{"sf", false},
		{"sf-x-expose-fd", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			lb := startWebLBProfile(t)
			h := lb.HAProxy
			if c.name == "master-worker-usr2" {
				// Replace the plain process by a master-worker one on the same config.
				h.proc.Stop()
				h.proc = StartProc(t, "haproxy master", filepath.Join(h.Dir, "haproxy-master.out"), h.Bin, "-W", "-db", "-f", h.Cfg)
				h.wait(h.proc, []string{strings.TrimPrefix(lb.URL, "http://")})
			}
			if c.name == "sf-x-expose-fd" {
				// The rendered profile exposes the listeners on its admin socket itself.
				line := "stats socket " + h.Socket + " mode 600 level admin expose-fd listeners\n"
				if cfg := readFile(t, h.Cfg); !strings.Contains(cfg, line) {
					t.Fatalf("%s has no %q", h.Cfg, line)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			wrkBin := Tool(t, "wrk", "wrk")
			done := make(chan struct{})
			var res WrkResult
			var werr error
			go func() {
				defer close(done)
				res, _, werr = Wrk{URL: lb.URL + "/load", Threads: 2, Conns: 50, Duration: 10 * time.Second}.Run(ctx, wrkBin)
			}()
			for i := range 3 {
				time.Sleep(2500 * time.Millisecond)
				before := workerPid(t, ctx, h)
				if c.name == "master-worker-usr2" {
					if err := h.proc.Signal(syscall.SIGUSR2); err != nil {
						t.Fatal(err)
					}
				} else if c.name == "sf-x-expose-fd" {
					h.ReloadWith([]string{"-x", h.Socket}, strings.TrimPrefix(lb.URL, "http://"))
				} else {
					h.Reload(strings.TrimPrefix(lb.URL, "http://"))
				}
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := Eventually(wctx, 50*time.Millisecond, func() bool {
					p, err := SocketCommand(wctx, h.Socket, "show info")
					return err == nil && !strings.Contains(p, fmt.Sprintf("\nPid: %d\n", before))
				})
				wcancel()
				if err != nil {
					t.Fatalf("reload %d: the stats socket still answers from pid %d", i+1, before)
				}
			}
			<-done
			if werr != nil {
				t.Fatal(werr)
			}
			t.Logf("FIGURE scenario=web-lb-reload mode=%s reloads=3 requests=%d rps=%.0f failed=%d (%s)", c.name, res.Requests, res.ReqPerSec, res.Failed(), res)
			if c.mustZero && res.Failed() != 0 {
				t.Errorf("%s: %d requests failed across 3 reloads (%s); want 0", c.name, res.Failed(), res)
			}
		})
	}
}

// workerPid reads the serving process's pid from `show info`.
func workerPid(t *testing.T, ctx context.Context, h *HAProxy) int {
	t.Helper()
	out, err := SocketCommand(ctx, h.Socket, "show info")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Pid: "); ok {
			var p int
			fmt.Sscan(v, &p)
			return p
		}
	}
	t.Fatalf("show info has no Pid:\n%s", out)
	return 0
}
