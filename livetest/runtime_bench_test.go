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

// BenchmarkRuntimeVsReload: web-lb on Debian's HAProxy 2.6 (master-worker) in front of two
// nginx, under `wrk -t2 -c50` for 10 s, in three runs: no change (the reference), 50 server
// changes through the Runtime API (weight, drain/ready, address set and set back), and 50
// reloads (USR2 to the master). It reports requests/s and failed requests; bench/runtime.sh
// prints them as a table with the ratio to the reference.
func BenchmarkRuntimeVsReload(b *testing.B) {
	const changes = 50
	const load = 10 * time.Second
	for _, mode := range []string{"steady", "runtime", "reload"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				lb := startWebLBProfile(b)
				h := lb.HAProxy
				addr := strings.TrimPrefix(lb.URL, "http://")
				h.proc.Stop()
				h.proc = StartProc(b, "haproxy master", filepath.Join(h.Dir, "haproxy-master.out"), h.Bin, "-W", "-db", "-f", h.Cfg)
				h.wait(h.proc, []string{addr})
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				done := make(chan struct{})
				var res WrkResult
				var werr error
				go func() {
					defer close(done)
					res, _, werr = Wrk{URL: lb.URL + "/load", Threads: 2, Conns: 50, Duration: load}.Run(ctx, Tool(b, "wrk", "wrk"))
				}()
				time.Sleep(500 * time.Millisecond)
				srv := lb.Backends[0]
				cmds := []string{
					"set server app/%s weight 50", "set server app/%s weight 100",
					"set server app/%s state drain", "set server app/%s state ready",
					"set server app/%s addr " + strings.Split(srv.Addr, ":")[0], // the same address: a real change of path, none of target
				}
				step := (load - time.Second) / changes
				for i := range changes {
					time.Sleep(step)
					switch mode {
					case "runtime":
						if _, err := h.API.Command(ctx, fmt.Sprintf(cmds[i%len(cmds)], srv.Name)); err != nil {
							b.Fatal(err)
						}
					case "reload":
						if err := h.proc.Signal(syscall.SIGUSR2); err != nil {
							b.Fatal(err)
						}
					}
				}
				<-done
				cancel()
				if werr != nil {
					b.Fatal(werr)
				}
				b.ReportMetric(res.ReqPerSec, "req/s")
				b.ReportMetric(float64(res.Failed()), "failed")
				b.ReportMetric(float64(res.Requests), "requests")
			}
		})
	}
}
