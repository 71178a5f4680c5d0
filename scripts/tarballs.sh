#!/usr/bin/env bash
# Fetches upstream HAProxy release tarballs from Debian's source packages
# (their .orig.tar.gz is upstream's tarball unchanged) into DIR, verified by sha256.
# deb-src is enabled by copying this machine's own apt entries with other suite
# names; no mirror is named here.
#   usage: scripts/tarballs.sh DIR
set -euo pipefail
dir=${1:?usage: tarballs.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# upstream version and the Debian suite carrying it; the sha256 is the recipe's
# (specs/releases/*.toml is the one place a release's checksum is written).
wanted_versions=("2.2.9 bullseye" "2.6.12 bookworm" "3.0.11 trixie")
specs=$(cd "$(dirname "$0")/../specs/releases" && pwd)
sha_of() {
  awk -v v="$1" '/^version *=/ {gsub(/"/, "", $3); cur = $3} /^sha256 *=/ && cur == v {gsub(/"/, "", $3); print $3; exit}' "$specs"/*.toml
}
wanted=()
for w in "${wanted_versions[@]}"; do
  set -- $w
  sum=$(sha_of "$1")
  [[ $sum =~ ^[0-9a-f]{64}$ ]] || { echo "tarballs: no sha256 for $1 in specs/releases" >&2; exit 1; }
  wanted+=("$1 $sum $2")
done

have() { [ -f "$dir/haproxy-$1.tar.gz" ] && echo "$2  $dir/haproxy-$1.tar.gz" | sha256sum -c --status; }

need=0
for w in "${wanted[@]}"; do set -- $w; have "$1" "$2" || need=1; done
[ "$need" = 0 ] && { echo "tarballs: all present in $dir"; exit 0; }

src=/etc/apt/sources.list.d/harpy-deb-src.sources
if [ ! -f "$src" ]; then
  # Take the first deb822 stanza of the main Debian archive (not -security) and
  # turn it into deb-src for the suites that carry the versions we need.
  awk -v RS= -v ORS='\n\n' '/Types: deb/ && /Suites: [a-z]+ / && !/security/ {print; exit}' \
      /etc/apt/sources.list.d/*.sources |
    sed -e 's/^Types: .*/Types: deb-src/' -e 's/^Suites: .*/Suites: bullseye bookworm trixie/' \
        -e '/^#/d' > "$src.tmp"
  grep -q '^URIs:' "$src.tmp" || { echo "tarballs: no Debian apt entry to copy" >&2; rm -f "$src.tmp"; exit 1; }
  mv "$src.tmp" "$src"
  apt-get update -qq -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=/etc/apt/sources.list.d 2>&1 | grep -v '^W:' || true
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for w in "${wanted[@]}"; do
  set -- $w; v=$1 sum=$2
  have "$v" "$sum" && continue
  debver=$(apt-cache showsrc haproxy 2>/dev/null | awk '/^Version:/{print $2}' | grep -E "^$v-" | sort -V | tail -1)
  [ -n "$debver" ] || { echo "tarballs: Debian lists no source of haproxy $v" >&2; exit 1; }
  # The .dsc may answer 404 while the .orig.tar.gz is served: judge by the tarball.
  (cd "$work" && apt-get source -qq --download-only "haproxy=$debver" >/dev/null 2>&1) || true
  f="$work/haproxy_$v.orig.tar.gz"
  [ -f "$f" ] || { echo "tarballs: haproxy_$v.orig.tar.gz was not downloaded" >&2; exit 1; }
  echo "$sum  $f" | sha256sum -c --status || { echo "tarballs: sha256 mismatch for $v" >&2; exit 1; }
  mv "$f" "$dir/haproxy-$v.tar.gz"
  echo "tarballs: haproxy-$v.tar.gz ok"
done
