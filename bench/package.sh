#!/usr/bin/env bash
# Packaging benchmark (issue 3): harpy's native RPM vs rpmbuild on the exported
# spec (packaging only, the same staged 2.6.12 files), and RPM size and time by
# payload compression. Prints a table; DefaultCompression follows these figures.
#   usage: bench/package.sh [COUNT]   (needs `make deps tarballs` first)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
out=$(go test -run '^$' -bench 'Native|Deb|Rpmbuild' -benchtime "${count}x" -count 1 ./packaging)
echo "$out" | grep -E '^Benchmark' | awk '
  BEGIN { printf "%-28s %10s %12s\n", "packaging (2.6.12, stripped)", "seconds", "size (MiB)" }
  { name=$1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i <= NF; i++) { if ($i == "ns/op") ns=$(i-1); if ($i == "bytes") sz=$(i-1) }
    printf "%-28s %10.2f %12.2f\n", name, ns/1e9, sz/1048576 }'
