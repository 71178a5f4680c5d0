#!/usr/bin/env bash
# Builds the Consul agent the watch tests run (v1.14.0, the last MPL-2.0 release whose
# go.mod builds against published modules) from the Go module cache, once per machine:
# the binary is cached outside the clone, in $HARPY_TOOLS (default /var/cache/harpy).
#   usage: scripts/consul.sh   → prints the binary's path
set -euo pipefail
version=v1.14.0
tools=${HARPY_TOOLS:-/var/cache/harpy}
bin=$tools/consul-$version
if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "Consul ${version}"; then
  echo "$bin"; exit 0
fi
mkdir -p "$tools"
work=$(mktemp -d); trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/consul@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "consul.sh: module github.com/hashicorp/consul@$version not downloaded" >&2; exit 1; }
cp -r "$dir" "$work/src" && chmod -R u+w "$work/src"
(cd "$work/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$work/consul" . ) >&2
"$work/consul" version | grep -q "Consul ${version}" || { echo "consul.sh: built binary is not Consul $version" >&2; exit 1; }
mv "$work/consul" "$bin.tmp" && mv "$bin.tmp" "$bin"
echo "$bin"
