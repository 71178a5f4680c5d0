#!/usr/bin/env bash
# Live failover benchmark: harpy's web-lb profile vs seed 001's own haproxy.cfg, on this
# machine, with Debian's haproxy 2.6, two nginx backends, a real rsyslogd and
# `wrk -t2 -c50 -d20s`; one backend is killed (SIGKILL) at 6 s and restarted at 12 s.
# Prints a table: failed requests, seconds to DOWN and back UP, requests per second.
# Usage: bash bench/live.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -count=1 -run '^$' -bench '^BenchmarkWebLBFailover$' -benchtime 1x -timeout 10m "$@" ./livetest | tee "$out" >&2

# Benchmark lines: name, iterations, then value/unit pairs (ns/op, req/s, failed, …).
awk '
/^BenchmarkWebLBFailover\// {
  name = $1; sub(/^BenchmarkWebLBFailover\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) m[name, $(i+1)] = $i
  names[++n] = name
}
END {
  if (n == 0) { print "no benchmark results" > "/dev/stderr"; exit 1 }
  printf "\n%-27s %10s %8s %9s %7s %7s\n", "config", "requests", "failed", "req/s", "DOWN s", "UP s"
  for (k = 1; k <= n; k++) {
    c = names[k]
    printf "%-27s %10d %8d %9.0f %7.2f %7.2f\n", c, m[c, "requests"], m[c, "failed"], m[c, "req/s"], m[c, "down-s"], m[c, "up-s"]
  }
  if (m["seed-001", "req/s"] > 0)
    printf "\nthroughput harpy-profile / seed-001: %.2fx (bar: >= 2x, 0 failed)\n", m["harpy-profile", "req/s"] / m["seed-001", "req/s"]
}' "$out"
