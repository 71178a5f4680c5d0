package livetest

import "testing"

// BenchmarkWebLBFailover is the bench table's measurement: harpy's web-lb profile against
// seed 001's own configuration, same machine, same load (wrk -t2 -c50 -d20s, one backend
// killed at 6 s and restarted at 12 s), plus the profile less retry-on, less redispatch,
// and less dontlog-normal. One run each whatever b.N is; run it with
// -benchtime 1x (bench/live.sh does). The figures are metrics, never assertions.
func BenchmarkWebLBFailover(b *testing.B) {
	for _, c := range []struct {
		name  string
		start func(testing.TB) *webLB
	}{
		// The two compared rows first and back to back: other work on a shared machine
		// changes the throughput from one minute to the next.
		{"harpy-profile", startWebLBProfile},
		{"seed-001", startSeed001},
		// Ablations: the same rendered config less one directive, to show what each earns.
		{"profile-without-retry-on", func(tb testing.TB) *webLB {
			return startWebLBProfileEdited(tb, "profile-without-retry-on", cfgEdit{Delete: "retry-on all-retryable-errors"})
		}},
		{"profile-without-redispatch", func(tb testing.TB) *webLB {
			return startWebLBProfileEdited(tb, "profile-without-redispatch", cfgEdit{Delete: "option redispatch 1"})
		}},
		// Logging every request costs a syscall per request in HAProxy and a line in
		// rsyslogd; the profile's dontlog-normal keeps errors, retries and health checks only.
		{"profile-without-dontlog-normal", func(tb testing.TB) *webLB {
			return startWebLBProfileEdited(tb, "profile-without-dontlog-normal", cfgEdit{Delete: "option dontlog-normal"})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			lb := c.start(b)
			var r failoverResult
			for b.Loop() {
				r = runFailover(b, lb)
			}
			b.ReportMetric(r.Wrk.ReqPerSec, "req/s")
			b.ReportMetric(float64(r.Wrk.Failed()), "failed")
			b.ReportMetric(r.Down.Seconds(), "down-s")
			b.ReportMetric(r.Up.Seconds(), "up-s")
			b.ReportMetric(float64(r.Wrk.Requests), "requests")
			b.Log(r.figure("web-lb", lb.Name))
		})
	}
}
