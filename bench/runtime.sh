#!/usr/bin/env bash
# Runtime API changes vs reloads under load (issue: harpy stat/server/reload): web-lb on
# Debian's haproxy 2.6, two nginx, `wrk -t2 -c50 -d10s`; 50 server changes through the
# Runtime API vs 50 reloads, each against the same load with no change, in one run.
# Usage: bash bench/runtime.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
. bench/lib.sh
livebench RuntimeVsReload 10m | awk '
{ m[$1, $2] = $3; if (!seen[$1]++) names[++n] = $1 }
END {
  if (n == 0) { print "no benchmark results" > "/dev/stderr"; exit 1 }
  base = m["steady", "req/s"]
  printf "%-28s %10s %10s %8s\n", "50 changes under wrk (10 s)", "req/s", "× steady", "failed"
  for (i = 1; i <= n; i++) {
    k = names[i]
    printf "%-28s %10.0f %10.2f %8d\n", k, m[k, "req/s"], m[k, "req/s"] / base, m[k, "failed"]
  }
}'
