#!/usr/bin/env bash
# All benchmarks, one after another (each prints its own table). Run on a quiet machine:
# the figures to compare are the ratios inside each table, measured in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in build package render live runtime watch; do
  printf '\n== bench/%s.sh ==\n' "$b"
  bash "bench/$b.sh"
done
