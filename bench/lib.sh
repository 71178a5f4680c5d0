# Shared by the live benchmarks: source it, then `livebench NAME TIMEOUT` runs livetest's
# BenchmarkNAME once and prints one "SUBBENCH UNIT VALUE" line per reported metric, for
# the caller's table. On failure it prints go test's output and returns 1.
livebench() {
  local out
  out=$(mktemp)
  if ! go test -count=1 -run '^$' -bench "^Benchmark$1\$" -benchtime 1x -timeout "$2" ./livetest >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; return 1
  fi
  # Benchmark lines: name, iterations, then value/unit pairs.
  awk -v b="Benchmark$1/" 'index($1, b) == 1 {
    name = substr($1, length(b) + 1); sub(/-[0-9]+$/, "", name)
    for (i = 3; i < NF; i += 2) print name, $(i + 1), $i
  }' "$out"
  rm -f "$out"
}
