#!/usr/bin/env bash
# Runs test binaries: unit ones, then "--", then integration ones. Each
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
  p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ]; then
    broken+=("$1")
    [ -z "$f" ] && failed=$((failed + 1)) # crashed before cmocka could count
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
