#!/usr/bin/env bash
# Runs the integration suite with the service under valgrind memcheck
# (RTSTATE_WRAPPER, read by tests/integration/harness.c). Any invalid read or
# write, use of uninitialised memory, or "definitely lost" block makes the
# service exit 99 at SIGTERM, which fails the test that stops it; its log
# (valgrind's report) is kept and named. The service runs several times
# slower under valgrind: RTSTATE_TIME_SCALE stretches the harness's waits and
# the tests' time bounds.
# Closes with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bins() { find "$1" -maxdepth 1 -name 'test_*' -type f -perm -u+x | sort; }
bin=${RTSTATE_BIN:-build/rtstate}
dir=$(dirname "$bin")
export RTSTATE_BIN=$bin
export RTSTATE_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30"
export RTSTATE_TIME_SCALE=${RTSTATE_TIME_SCALE:-4}

command -v valgrind > /dev/null || { echo "valgrind: not installed (scripts/deps.sh sanitize)"; echo "0 passed, 1 failed"; exit 1; }
[ -n "$(bins "$dir/tests/integration")" ] ||
  { echo "no test binaries in $dir/tests (make test builds them)"; echo "0 passed, 1 failed"; exit 1; }
# the persistence tests need a MongoDB-compatible server (make test passes it)
[ -n "${MONGO_SERVER_BIN:-}" ] || ! [ -x scripts/mongo-server.sh ] ||
  export MONGO_SERVER_BIN=$(scripts/mongo-server.sh)
out=$(scripts/test.sh -- $(bins "$dir/tests/integration") 2>&1)
rc=$?
out=$(printf '%s\n' "$out" | sed 's/\[  \(PASSED\|FAILED\|SKIPPED\) *\]/[ \1 ]/')
if [ $rc -eq 0 ]; then # on success the count only: make test has shown these suites already
  echo "valgrind: every suite clean under valgrind memcheck"
  printf '%s\n' "$out" | tail -1
else
  printf '%s\n' "$out"
fi
exit $rc
