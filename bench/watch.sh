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
. bench/lib.sh
livebench WatchDNS 15m | awk '
{ m[$1, $2] = $3; if (!seen[$1]++) names[++n] = $1 }
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
}'
