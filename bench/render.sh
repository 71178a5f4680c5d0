#!/usr/bin/env bash
# Render benchmark: a 10,000-server profile through load → render → haproxy -c, and
# 1,000 host variants. Prints a table. HAPROXY=path picks another haproxy binary.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/render -haproxy "${HAPROXY:-/usr/sbin/haproxy}" "$@"
