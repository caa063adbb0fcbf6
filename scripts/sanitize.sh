#!/usr/bin/env bash
# Runs the unit and integration suites built with ASan + UBSan (make
# sanitize-build, into $(BUILD)/asan next to RTSTATE_BIN). The integration
# tests start the sanitized service: an ASan, LeakSanitizer or UBSan report
# makes it exit non-zero at SIGTERM, which fails the test that stops it, and
# its log (with the report) is kept and named. Prints the suites' summaries
# (all of their output on a failure) and closes with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bins() { find "$1" -maxdepth 1 -name 'test_*' -type f -perm -u+x | sort; }
dir=${SAN_DIR:-$(dirname "${RTSTATE_BIN:-build/rtstate}")/asan}
export RTSTATE_BIN=$dir/rtstate
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -x "$RTSTATE_BIN" ] || { echo "sanitize: no $RTSTATE_BIN (make sanitize-build)"; echo "0 passed, 1 failed"; exit 1; }
[ -n "$(bins "$dir/tests/integration")" ] ||
  { echo "no test binaries in $dir/tests (make test builds them)"; echo "0 passed, 1 failed"; exit 1; }
# the persistence tests need a MongoDB-compatible server (make test passes it)
[ -n "${MONGO_SERVER_BIN:-}" ] || ! [ -x scripts/mongo-server.sh ] ||
  export MONGO_SERVER_BIN=$(scripts/mongo-server.sh)
out=$(scripts/test.sh $(bins "$dir/tests/unit") -- $(bins "$dir/tests/integration") 2>&1)
rc=$?
# cmocka's own summary lines would be counted twice by an outer scripts/test.sh
out=$(printf '%s\n' "$out" | sed 's/\[  \(PASSED\|FAILED\|SKIPPED\) *\]/[ \1 ]/')
if [ $rc -eq 0 ]; then # on success the count only: make test has shown these suites already
  echo "sanitize: every suite clean under ASan + UBSan"
  printf '%s\n' "$out" | tail -1
else
  printf '%s\n' "$out"
fi
exit $rc
