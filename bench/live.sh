#!/usr/bin/env bash
# Live benchmark, on this machine with Debian's haproxy 2.6, real nginx, rsyslogd, MariaDB
# and dnsmasq on loopback:
#  1. web-lb failover table: harpy's web-lb profile vs seed 001's own haproxy.cfg (and the
#     profile less retry-on / less redispatch), two nginx backends, `wrk -t2 -c50 -d20s`,
#     one backend killed (SIGKILL) at 6 s and restarted at 12 s: failed requests, seconds
#     to DOWN and back UP, requests per second;
#  2. the figures every livetest scenario prints (FIGURE lines): reloads under load, checks
#     and fail-over of the MariaDB pool, DNS moves, Spark leader changes.
# Usage: bash bench/live.sh [--failover-only]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -count=1 -run '^$' -bench '^BenchmarkWebLBFailover$' -benchtime 1x -timeout 10m ./livetest >"$out" 2>&1 || {
  cat "$out" >&2
  exit 1
}

# Benchmark lines: name, iterations, then value/unit pairs (ns/op, req/s, failed, …).
awk '
/^BenchmarkWebLBFailover\// {
  name = $1; sub(/^BenchmarkWebLBFailover\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) m[name, $(i+1)] = $i
  names[++n] = name
}
END {
  if (n == 0) { print "no benchmark results" > "/dev/stderr"; exit 1 }
  print "web-lb: wrk -t2 -c50 -d20s, one of two nginx backends killed at 6 s, restarted at 12 s"
  printf "%-31s %10s %8s %9s %7s %7s\n", "config", "requests", "failed", "req/s", "DOWN s", "UP s"
  for (k = 1; k <= n; k++) {
    c = names[k]
    printf "%-31s %10d %8d %9.0f %7.2f %7.2f\n", c, m[c, "requests"], m[c, "failed"], m[c, "req/s"], m[c, "down-s"], m[c, "up-s"]
  }
  if (m["seed-001", "req/s"] > 0) {
    printf "throughput harpy-profile / seed-001: %.2fx (bar: >= 2x with 0 failed)\n", m["harpy-profile", "req/s"] / m["seed-001", "req/s"]
    if (m["profile-without-dontlog-normal", "req/s"] > 0)
      printf "throughput profile-without-dontlog-normal / seed-001: %.2fx\n", m["profile-without-dontlog-normal", "req/s"] / m["seed-001", "req/s"]
  }
}' "$out"

[ "${1:-}" = --failover-only ] && exit 0

go test -count=1 -v -run '^(TestWebLB|TestWebLBReload|TestWebLBRetries|TestRDSReadPool|TestSparkAdmin)$' -timeout 15m ./livetest >"$out" 2>&1 || {
  cat "$out" >&2
  exit 1
}
echo
echo "scenario figures (go test -v ./livetest):"
sed -n 's/^ *[a-z_]*_test\.go:[0-9]*: FIGURE //p' "$out"
