#!/usr/bin/env bash
# Runs every libFuzzer harness built by mk/fuzz.mk for SECONDS each (default 20,
# what make test uses; make fuzz passes FUZZ_SECONDS), as many at once as there
# are cores. Each starts from its committed seeds in tests/fuzz/corpus/<name>/
# (replayed first: they are regression tests too) and writes what it discovers
# to a temp dir, never to the committed corpus. A crash, leak, timeout or
# failed assertion fails the harness and keeps the input in
# $FUZZ_DIR/artifacts/. Closes with "N passed, N failed" (a harness each).
#   scripts/fuzz.sh [SECONDS]     FUZZ_DIR defaults to $(dirname $RTSTATE_BIN)/fuzz
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
dir=${FUZZ_DIR:-$(dirname "${RTSTATE_BIN:-build/rtstate}")/fuzz}
names=$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_\(.*\)\.c$/\1/')
jobs=$(nproc 2>/dev/null || echo 2)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-fuzz-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dir/artifacts"

one() { # name: runs one harness; its exit code is the verdict
  local n=$1 bin="$dir/fuzz_$1"
  [ -x "$bin" ] || { echo "missing $bin (make fuzz-build)" > "$tmp/$n.log"; return 1; }
  mkdir -p "$tmp/corpus-$n"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a runaway allocation
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/$n-" \
    "$tmp/corpus-$n" "tests/fuzz/corpus/$n" > "$tmp/$n.log" 2>&1
}

running=0
for n in $names; do
  (one "$n"; echo $? > "$tmp/$n.rc") &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
passed=0 failed=0
for n in $names; do
  if [ "$(cat "$tmp/$n.rc" 2>/dev/null)" = 0 ]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$n.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$tmp/$n.log" | tail -1)
    echo "fuzz_$n: ok, ${runs:-?} inputs in ${seconds} s, ${cov:-cov: ?}"
    passed=$((passed + 1))
  else
    echo "fuzz_$n: FAILED; the end of its log:"
    tail -60 "$tmp/$n.log" | sed 's/^/    /'
    echo "    reproduce: $dir/fuzz_$n <input>; once fixed, add the input to tests/fuzz/corpus/$n/"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
