#!/usr/bin/env bash
# Runs test binaries: unit ones, then "--", then integration ones and any
# further suites (a command each; see TEST_EXTRA_RUN in the Makefile). Each
# integration binary starts its own throwaway redis-server (and service) on
# free loopback ports in a temp dir and stops them when it ends.
# Prints every binary's cmocka output and a closing "N passed, N failed".
set -uo pipefail
passed=0 failed=0 broken=()
run() {
  local out rc
  out=$("$1" 2>&1); rc=$?
  printf '%s\n' "$out"
  local p f
  # cmocka's summary lines, or a plain "N passed, N failed" from a script
  p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  if [ -z "$p$f" ]; then
    p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, [0-9]* failed.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' | tail -1)
  fi
  if [ -z "$p$f" ]; then # no count at all: the exit code is one test
    if [ $rc -eq 0 ]; then p=1; else f=1; fi
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ]; then
    broken+=("$1")
    [ "${f:-0}" -eq 0 ] && failed=$((failed + 1)) # crashed before it could count
  fi
}
for t in "$@"; do
  [ "$t" = "--" ] && continue
  run "$t"
done
echo
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ] && [ $failed -eq 0 ]
