// Package livetest proves harpy's rendered profiles against real servers under real traffic
// and real failures: nginx, MariaDB, rsyslogd, dnsmasq and Debian's haproxy, all started as
// plain processes on loopback addresses with their own directories under t.TempDir().
//
// The scenarios are this package's tests; each prints its figures as "FIGURE key=value …"
// lines (t.Logf) so that bench/live.sh can collect them into a table. Helpers take a
// testing.TB, stop what they started in t.Cleanup and bound every wait with a context.
//
// A missing tool fails the test when CI=true or HARPY_REAL=1 and skips it elsewhere.
package livetest
