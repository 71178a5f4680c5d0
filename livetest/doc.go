// Package livetest proves harpy's rendered profiles against real servers under real traffic
// and real failures: nginx, MariaDB, rsyslogd, dnsmasq and Debian's haproxy (plus harpy's
// own builds through internal/testenv), all started as plain processes on loopback
// addresses with their own directories and pid files under t.TempDir(), stopped by pid.
//
// Scenarios (the tests):
//   - TestWebLB: web-lb (seed 001) under wrk while a backend is killed and restarted, on
//     Debian's 2.6 and harpy's 2.2.9 and 3.0.11 builds: no failed request, DOWN/UP within
//     the profile's inter×fall / inter×rise, health-check lines in the file the rendered
//     rsyslog drop-in writes, X-Forwarded-For at nginx, seed 001's own 404 demonstration.
//   - TestWebLBReload: three reloads under wrk, master-worker USR2, -sf and -sf -x.
//   - TestWebLBRetries: a GET meeting a server that hangs up is retried elsewhere; a POST
//     is never sent twice.
//   - TestRDSReadPool: rds-read-pool (seeds 000/002) on three MariaDB servers named by
//     dnsmasq: mysql-check, backup master, leastconn, stats page, 1,000 checks without a
//     blocked host (and a control that gets blocked), an A record change without reload.
//   - TestSparkAdmin: spark-admin (seed 004) on fake Spark masters, on 2.2, 2.6 and 3.0.
//   - TestRsyslogDropIns: the drop-in of every dist routes HAProxy's facility, and only it.
//   - TestRDSDNSOutage: rds-read-pool with its DNS server stopped for 40 s under a steady
//     client: no failed connection, no server loses its address; checks on the servers'
//     own port; NXDOMAIN takes only the deleted replica away.
//   - TestWatchDNS, TestWatchConsul: harpy watch follows dnsmasq's SRV records (2.6, 3.0.11)
//     and a Consul agent's catalog at run time, under wrk, and keeps the file in step.
//   - TestNspawnHosts (-tags nspawn): three real systemd hosts (systemd-nspawn) over SSH.
//
// Each profile is rendered from a user profile that `extends` the embedded one and
// overrides only what a loopback test must (addresses, log target, log file, pid file,
// stats socket), plus what a test names in its comment (e.g. a shorter check interval).
// Where the profile cannot express a test condition, the rendered file is edited and the
// edit is explained where it is made (e.g. `source` for the MariaDB checks).
//
// Each scenario prints its figures as "FIGURE key=value …" lines (t.Logf), which
// bench/live.sh collects; BenchmarkWebLBFailover is the bench table's measurement.
// Helpers take a testing.TB, stop what they started in t.Cleanup and bound every wait.
// Under -short every scenario is skipped (the fast tier); otherwise a missing tool fails it.
package livetest
