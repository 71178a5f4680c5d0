#!/usr/bin/env bash
# harpy watch vs HAProxy's own resolvers, in one run (Debian's haproxy 2.6, dnsmasq, two
# web servers on loopback, a client sending requests without pause): seconds from an SRV
# change to the first request on an added server and to the last one on a removed server
# (10 changes; for Consul: register and deregister), reloads, failed requests, and failed
# requests while the source is down for 40 s (DNS server or Consul agent stopped).
# Usage: bash bench/watch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
out=$(mktemp); trap 'rm -f "$out"' EXIT
go test -count=1 -run '^$' -bench '^BenchmarkWatchDNS$' -benchtime 1x -timeout 15m ./livetest >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
awk '
/^BenchmarkWatchDNS\// {
  name = $1; sub(/^BenchmarkWatchDNS\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) m[name, $(i+1)] = $i
  names[++n] = name
}
END {
  if (n == 0) { print "no benchmark results" > "/dev/stderr"; exit 1 }
  printf "%-18s %-20s %-20s %8s %7s %14s\n", "", "add→traffic s", "remove→gone s", "reloads", "failed", "outage failed"
  printf "%-18s %-20s %-20s\n", "", "min/median/max", "min/median/max"
  for (i = 1; i <= n; i++) {
    k = names[i]
    printf "%-18s %5.2f/%5.2f/%5.2f    %5.2f/%5.2f/%5.2f    %8d %7d %14d\n", k,
      m[k, "add-min-s"], m[k, "add-median-s"], m[k, "add-max-s"],
      m[k, "remove-min-s"], m[k, "remove-median-s"], m[k, "remove-max-s"],
      m[k, "reloads"], m[k, "failed"], m[k, "outage-failed"]
  }
}' "$out"
