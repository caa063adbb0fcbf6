#!/usr/bin/env bash
# Contract tests: Schemathesis against the service's own openapi.yaml.
#
# Starts a throwaway redis-server, a MongoDB-compatible server when the project
# has one (MONGO_SERVER_BIN, or what scripts/mongo-server.sh gives), and the
# service (RTSTATE_BIN, or build/rtstate, with its three tokens set) on free
# loopback ports in a temp dir, points Schemathesis at the spec the
# service serves (GET /openapi.yaml, compiled into the binary) and runs every
# phase (examples, coverage, fuzzing, stateful runs through the spec's links)
# with every check, positive and negative data, and a fixed seed. Then stops
# both (the service must exit 0 on SIGTERM) and closes with
# "N passed, N failed", one per operation plus the stateful run.
#
#   scripts/contract.sh            bounded: what make test runs (well under 3 min)
#   scripts/contract.sh --long     make contract: many more examples per operation
#
# CONTRACT_SEED sets the seed, CONTRACT_EXAMPLES the examples per operation, and
# CONTRACT_LOG=file keeps Schemathesis's whole output (warnings included), and
# CONTRACT_ARGS adds Schemathesis options (e.g. "--include-path-regex typing").
#
# Schemathesis comes from PyPI into .venv/ (pinned in scripts/contract-venv.sh). Per-operation
# exceptions, each with its reason, are in tests/contract/schemathesis.toml.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/contract-venv.sh
. scripts/contract-venv.sh
examples=${CONTRACT_EXAMPLES:-100}
seed=${CONTRACT_SEED:-20250920}
[ "${1:-}" = "--long" ] && examples=${CONTRACT_EXAMPLES:-1000}
bin=${RTSTATE_BIN:-build/rtstate}
case $bin in /*) ;; *) bin=$root/$bin ;; esac

contract_venv || { echo "cannot install schemathesis"; echo "0 passed, 1 failed"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-contract-XXXXXX")
redis_pid= svc_pid= mongo_pid=
stop() {
  [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill -9 "$redis_pid" 2>/dev/null
  [ -n "$mongo_pid" ] && kill -9 "$mongo_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap stop EXIT
# shellcheck source=scripts/ports.sh
. scripts/ports.sh
# waits until url answers 200 (max 10 s)
wait_http() {
  "$py" - "$1" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200:
            sys.exit(0)
    except Exception:
        time.sleep(0.05)
sys.exit(1)
PY
}
fail() { echo "contract: $*"; echo "0 passed, 1 failed"; exit 1; }

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no \
  > "$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break
  sleep 0.05
done
# the persistence endpoints need MongoDB: the same server the integration tests use
mongo_uri=
[ -n "${MONGO_SERVER_BIN:-}" ] || ! [ -x scripts/mongo-server.sh ] ||
  MONGO_SERVER_BIN=$(scripts/mongo-server.sh) || fail "no MongoDB-compatible server"
if [ -n "${MONGO_SERVER_BIN:-}" ]; then
  mport=$(free_port)
  mkdir -p "$tmp/mongo"
  # exec: the background subshell becomes the server, so $! is the server's pid
  # and stop() kills the server itself, not a shell that would leave it running
  case $(basename "$MONGO_SERVER_BIN") in
    mongod) exec "$MONGO_SERVER_BIN" --port "$mport" --bind_ip 127.0.0.1 --dbpath "$tmp/mongo" \
              --quiet --nounixsocket ;;
    *) exec "$MONGO_SERVER_BIN" --handler=sqlite --sqlite-url="file:$tmp/mongo/" \
         --state-dir="$tmp/mongo" --listen-addr="127.0.0.1:$mport" --debug-addr=- \
         --telemetry=disable --log-level=warn ;;
  esac > "$tmp/mongo.log" 2>&1 &
  mongo_pid=$!
  "$py" - "$mport" <<'PY' || fail "the MongoDB-compatible server did not start"
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
  mongo_uri=mongodb://127.0.0.1:$mport/rtstate_contract
fi
port=$(free_port)
base=http://127.0.0.1:$port
# every door closed, each by its own token: Schemathesis sends each operation the
# weakest token that opens it (tests/contract/schemathesis.toml, [auth.openapi]),
# and checks that it is refused without one and with a wrong one
token() { "$py" -c 'import secrets; print(secrets.token_hex(16))'; }
CONTRACT_READ_TOKEN=$(token) CONTRACT_API_TOKEN=$(token) CONTRACT_ADMIN_TOKEN=$(token)
export CONTRACT_READ_TOKEN CONTRACT_API_TOKEN CONTRACT_ADMIN_TOKEN
PORT=$port BIND=127.0.0.1 REDIS_URL=redis://127.0.0.1:$rport/0 MONGODB_URI=$mongo_uri THREADS=4 \
  READ_TOKEN=$CONTRACT_READ_TOKEN API_TOKEN=$CONTRACT_API_TOKEN ADMIN_TOKEN=$CONTRACT_ADMIN_TOKEN \
  "$bin" > "$tmp/service.log" 2>&1 &
svc_pid=$!
wait_http "$base/readyz" || { cat "$tmp/service.log"; fail "the service did not become ready"; }

echo "contract: schemathesis $SCHEMATHESIS_VERSION, $examples examples per operation, seed $seed"
# Every check is on by default (naming them with --checks would override the
# per-operation exceptions in the config). Run from the temp dir: Schemathesis
# keeps a cache (.schemathesis/) where it runs.
(cd "$tmp" && "$venv/bin/schemathesis" --config-file "$root/tests/contract/schemathesis.toml" \
  run "$base/openapi.yaml" --url "$base" --mode all \
  --phases examples,coverage,fuzzing,stateful --max-examples "$examples" --seed "$seed" \
  --workers 1 --request-timeout 10 --report junit --report-junit-path "$tmp/junit.xml" \
  --output-truncate true --no-color ${CONTRACT_ARGS:-} > "$tmp/schemathesis.out" 2>&1)
rc=$?
# the summary and any failure, without the progress noise
sed -n '/^ *\(❌\|✅\|⏭\)/p; /FAILURES/,/WARNINGS\|SUMMARY/p' "$tmp/schemathesis.out" | head -200
tail -4 "$tmp/schemathesis.out"
[ -n "${CONTRACT_LOG:-}" ] && cp "$tmp/schemathesis.out" "$CONTRACT_LOG"

kill "$svc_pid"
wait "$svc_pid"
svc_rc=$?
svc_pid=
if [ $svc_rc -ne 0 ]; then
  echo "contract: the service exited with $svc_rc on SIGTERM; its log:"
  tail -40 "$tmp/service.log"
fi
if grep -qE '^[^ ]+ error ' "$tmp/service.log"; then # log lines are "<time> <level> <text>"
  echo "contract: the service logged errors:"
  grep -E '^[^ ]+ error ' "$tmp/service.log" | head -20
  svc_rc=1
fi

# one test per operation (and the stateful run), from the JUnit report
read -r tests failed < <("$py" - "$tmp/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 0); sys.exit()
cases = root.findall('.//testcase')
bad = [c for c in cases if c.find('failure') is not None or c.find('error') is not None]
print(len(cases), len(bad))
PY
)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # a run that broke before reporting
[ $svc_rc -ne 0 ] && failed=$((failed + 1))
echo "$((tests - failed < 0 ? 0 : tests - failed)) passed, $failed failed"
[ "$rc" -eq 0 ] && [ $svc_rc -eq 0 ]
