#!/usr/bin/env bash
# Browser test of CORS: a page on another origin calls the service the way a
# dashboard there would, in Debian's headless Chromium, which is the judge of
# what a browser accepts (a reply whose Access-Control-Allow-Origin comes
# twice, or not at all, fails in the browser however it reads to curl).
#
# Starts a throwaway redis-server, serves tests/browser/cors.html from a
# second loopback port (a second origin) with Python's http.server, and runs
# the service with API_TOKEN set and CORS_ORIGINS set to that origin, then to
# "*": the page POSTs JSON with a bearer token, PUTs a frame, PUTs and PATCHes
# JSON, DELETEs, and reads a 404, a 401 and the responses built once and
# reused, each of which must succeed and be readable. Against a service that
# allows another origin only, the browser must refuse (the control: the test
# can tell a refusal). Stops everything at the end and closes with
# "N passed, N failed".
#
#   tests/browser/cors.sh        (make test runs it through mk/browser.mk)
#   KEEP_TMP=1 tests/browser/cors.sh   keeps the temp dir: dumped DOM, logs
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=${RTSTATE_BIN:-build/rtstate}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
py=python3

passed=0 failed=0
ok() { echo "ok    $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1"; failed=$((failed + 1)); }
finish() { echo; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

command -v chromium > /dev/null || { bad "chromium is installed (scripts/deps.sh browser)"; finish; }
[ -x "$bin" ] || { bad "service binary $bin exists"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-cors-XXXXXX")
export TMPDIR=$tmp # Chromium's profiles and anything else land in it
pids=()
stop() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  wait 2> /dev/null
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap stop EXIT

h() { "$py" tests/browser/dashboard.py "$@"; }
token=cors-test-api-token # a throwaway value for this test only

# --- Redis, and the page on an origin of its own -----------------------------
rport=$(h free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no \
  > "$tmp/redis.log" 2>&1 &
pids+=($!)
mkdir -p "$tmp/site"
cp tests/browser/cors.html "$tmp/site/index.html"
pport=$(h free_port)
page=http://127.0.0.1:$pport
"$py" -m http.server "$pport" --bind 127.0.0.1 --directory "$tmp/site" > "$tmp/site.log" 2>&1 &
pids+=($!)
h wait_http "$page/index.html" || { bad "the page is served on $page"; finish; }

# service NAME ENV...: starts the service on a free port and sets $base to it
service() {
  local name=$1 port
  shift
  port=$(h free_port)
  base=http://127.0.0.1:$port
  env PORT="$port" BIND=127.0.0.1 REDIS_URL="redis://127.0.0.1:$rport/0" THREADS=4 \
    API_TOKEN=$token "$@" "$bin" > "$tmp/$name.log" 2>&1 &
  pids+=($!)
  h wait_http "$base/livez" && h wait_http "$base/readyz" && return
  tail -20 "$tmp/$name.log" "$tmp/redis.log"
  bad "the service ($name) becomes ready"
  finish
}

chrome() { # chrome ARGS... URL: one fresh, private, loopback-only headless run
  local profile
  profile=$(mktemp -d "$tmp/profile-XXXXXX")
  HOME=$tmp XDG_CONFIG_HOME=$tmp/xdg XDG_CACHE_HOME=$tmp/xdg timeout 90 chromium --headless \
    --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --mute-audio \
    --disable-dev-shm-usage \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --virtual-time-budget=10000 "$@"
}

# visit NAME: loads the page against $base; its "ok|bad" lines go to $tmp/NAME.lines
visit() {
  local name=$1
  chrome --dump-dom "$page/index.html?service=$base&token=$token" \
    > "$tmp/$name.html" 2> "$tmp/$name-chrome.log"
  sed -n '/<pre id="out">/,/<\/pre>/p' "$tmp/$name.html" |
    sed -e 's/<pre id="out">//' -e 's/<\/pre>.*//' -e 's/&amp;/\&/g' -e '/^$/d' \
      > "$tmp/$name.lines"
  grep -q 'data-done="1"' "$tmp/$name.html"
}

# allowed NAME ORIGINS: with CORS_ORIGINS=ORIGINS every call of the page succeeds
allowed() {
  local name=$1 label="CORS_ORIGINS=$2" verdict what n
  service "$name" CORS_ORIGINS="$2"
  if ! visit "$name"; then
    bad "$label: the page ran to its end"
    return
  fi
  n=$(grep -c '' "$tmp/$name.lines")
  [ "$n" -eq 10 ] || bad "$label: the page reported each of its 10 steps (got $n)"
  while read -r verdict what; do
    if [ "$verdict" = ok ]; then ok "$label: $what"; else bad "$label: $what"; fi
  done < "$tmp/$name.lines"
}

start=$(date +%s)
allowed list "$page"
allowed any '*'

# --- the control: another origin only, so the browser must refuse ------------
service refused CORS_ORIGINS=https://elsewhere.example
if visit refused && grep -q '^bad POST /clients.*TypeError' "$tmp/refused.lines"; then
  ok "from an origin not allowed the browser refuses the POST (TypeError)"
else
  bad "from an origin not allowed the browser refuses the POST (TypeError)"
fi
# the preflight was answered, but the POST itself never reached the service
if grep -q '"method":"OPTIONS"' "$tmp/refused.log" && ! grep -q '"method":"POST"' "$tmp/refused.log"; then
  ok "for the origin not allowed the service saw the preflight only"
else
  bad "for the origin not allowed the service saw the preflight only"
fi
echo "browser: $(($(date +%s) - start)) s in Chromium"

if [ "$failed" -gt 0 ]; then
  echo "--- chromium console (CORS errors)"
  grep -h -E "CONSOLE|CORS|Access-Control" "$tmp"/*-chrome.log | tail -20
  echo "--- service logs (last 5 lines each)"; tail -n 5 "$tmp/list.log" "$tmp/any.log" "$tmp/refused.log"
fi
finish
