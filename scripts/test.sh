#!/usr/bin/env bash
# Runs test binaries: unit ones, then "--", then integration ones and any
# further suites (a command each; see TEST_EXTRA_RUN in the Makefile). Each
# integration binary starts its own throwaway redis-server (and service) on
# free loopback ports in a temp dir and stops them when it ends.
#
# --cluster (first): then runs every integration binary (tests/integration/
# test_*) a second time with IT_REDIS=cluster, so that each starts a
# three-master Redis Cluster where it started one server
# (tests/integration/harness.h); the test_cluster_* binaries, which start
# clusters of their own anyway, run once. make test passes it; the sanitizer
# and valgrind passes do not (they would take twice as long).
#
# Prints every binary's cmocka output and a closing "N passed, N failed, N
# skipped" (a skipped test prints why).
set -uo pipefail
cluster=0
if [ "${1:-}" = --cluster ]; then cluster=1; shift; fi
passed=0 failed=0 skipped=0 broken=()
count() { # pattern output -> the last count cmocka printed for it
  printf '%s\n' "$2" | sed -n "s/.*\[  $1  *\] \([0-9]*\) test.*/\1/p" | tail -1
}
run() { # label command...
  local label=$1 out rc
  shift
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out"
  local p f s
  # cmocka's summary lines, or a plain "N passed, N failed" from a script
  p=$(count PASSED "$out") f=$(count FAILED "$out") s=$(count SKIPPED "$out")
  if [ -z "$p$f" ]; then
    p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, [0-9]* failed.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' | tail -1)
  fi
  if [ -z "$p$f" ]; then # no count at all: the exit code is one test
    if [ $rc -eq 0 ]; then p=1; else f=1; fi
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
  if [ $rc -ne 0 ]; then
    broken+=("$label")
    [ "${f:-0}" -eq 0 ] && failed=$((failed + 1)) # crashed before it could count
  fi
}
integration=()
for t in "$@"; do
  [ "$t" = "--" ] && continue
  run "$t" "$t"
  case $t in
    */tests/integration/test_cluster_*) ;;
    */tests/integration/test_*) integration+=("$t") ;;
  esac
done
if [ $cluster -eq 1 ] && [ ${#integration[@]} -gt 0 ]; then
  echo
  echo "== the integration suites again, against a three-master Redis Cluster (IT_REDIS=cluster) =="
  for t in "${integration[@]}"; do
    run "$t (cluster)" env IT_REDIS=cluster "$t"
  done
fi
echo
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ ${#broken[@]} -eq 0 ] && [ $failed -eq 0 ]
