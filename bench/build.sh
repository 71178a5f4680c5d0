#!/usr/bin/env bash
# Build benchmark (issue: build pipeline): harpy's cold build vs a bare `make` with the
# same flags and -j, then a warm rebuild and rebuilds after changes that do not touch the
# binary. One run, side by side; the figures to compare are the ratios.
#   usage: bench/build.sh [VERSION]   (needs `make deps tarballs harpy` first)
set -euo pipefail
cd "$(dirname "$0")/.."
v=${1:-2.6.12}
jobs=${JOBS:-2}
tarballs=${HARPY_TARBALLS:-$PWD/.cache/tarballs}
harpy=$PWD/bin/harpy
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export HARPY_CACHE=$work/cache

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# The exact make arguments harpy uses (resolved on this host).
"$harpy" build --version "$v" --mirror "file://$tarballs" -j "$jobs" >/dev/null 2>"$work/plan.log" || { cat "$work/plan.log"; exit 1; }
args=$(sed -n 's/^compile: make -j[0-9]* //p' "$work/plan.log")
rm -rf "$HARPY_CACHE"

# 1. bare make, same flags, same -j
mkdir "$work/bare" && tar xzf "$tarballs/haproxy-$v.tar.gz" -C "$work/bare" --strip-components=1
t0=$(now); (cd "$work/bare" && make -j"$jobs" $args >/dev/null 2>&1); t1=$(now)
bare=$(secs "$t0" "$t1")

# 2. harpy cold: empty cache, fetch over file://, verify, unpack, patch, compile, prove, stage
t0=$(now); "$harpy" build --version "$v" --mirror "file://$tarballs" -j "$jobs" >/dev/null 2>&1; t1=$(now)
cold=$(secs "$t0" "$t1")

# 3. warm: nothing changed
t0=$(now); "$harpy" build --version "$v" --mirror "file://$tarballs" -j "$jobs" >/dev/null 2>"$work/warm.log"; t1=$(now)
warm=$(secs "$t0" "$t1")
grep -q "compile:" "$work/warm.log" && { echo "warm rebuild compiled!" >&2; exit 1; }

# 4. changes that do not affect the binary: the package release, then the profile. Both
#    package an el9 RPM; neither may compile.
pkg=(--format rpm --dist el9 --out "$work/dist")
"$harpy" build --version "$v" --mirror "file://$tarballs" "${pkg[@]}" >/dev/null 2>&1
t0=$(now); "$harpy" build --version "$v" --mirror "file://$tarballs" "${pkg[@]}" --release 2 >/dev/null 2>"$work/nb.log"; t1=$(now)
nonbin=$(secs "$t0" "$t1")
t0=$(now); "$harpy" build --version "$v" --mirror "file://$tarballs" "${pkg[@]}" --release 2 --profile spark-admin >/dev/null 2>>"$work/nb.log"; t1=$(now)
prof=$(secs "$t0" "$t1")
grep -q "compile:" "$work/nb.log" && { echo "non-binary change recompiled!" >&2; exit 1; }

printf '\nHAProxy %s, -j%s, %s\n' "$v" "$jobs" "$(nproc) CPUs"
printf '%-44s %10s %10s\n' "step" "seconds" "vs make"
printf '%-44s %10.2f %10s\n' "bare make (same flags)" "$bare" "1.00x"
printf '%-44s %10.2f %9.2fx\n' "harpy build, cold (fetch..stage)" "$cold" "$(echo "$cold / $bare" | bc -l)"
printf '%-44s %10.2f %9.3fx\n' "harpy build, warm (nothing changed)" "$warm" "$(echo "$warm / $bare" | bc -l)"
printf '%-44s %10.2f %9.3fx\n' "release 1→2, package el9 RPM" "$nonbin" "$(echo "$nonbin / $bare" | bc -l)"
printf '%-44s %10.2f %9.3fx\n' "profile web-lb→spark-admin, package RPM" "$prof" "$(echo "$prof / $bare" | bc -l)"
