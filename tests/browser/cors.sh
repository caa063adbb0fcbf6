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
. tests/browser/lib.sh
token=cors-test-api-token # a throwaway value for this test only

# --- the page, on an origin of its own ----------------------------------------
mkdir -p "$tmp/site"
cp tests/browser/cors.html "$tmp/site/index.html"
pport=$(h free_port)
page=http://127.0.0.1:$pport
"$py" -m http.server "$pport" --bind 127.0.0.1 --directory "$tmp/site" > "$tmp/site.log" 2>&1 &
pids+=($!)
h wait_http "$page/index.html" || { bad "the page is served on $page"; finish; }

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
  local name=$1 label="CORS_ORIGINS=$2: " n
  service "$name" API_TOKEN=$token CORS_ORIGINS="$2"
  if ! visit "$name"; then
    bad "${label}the page ran to its end"
    return
  fi
  n=$(grep -c '' "$tmp/$name.lines")
  [ "$n" -eq 10 ] || bad "${label}the page reported each of its 10 steps (got $n)"
  PREFIX=$label verdicts < "$tmp/$name.lines"
}

start=$(date +%s)
allowed list "$page"
allowed any '*'

# --- the control: another origin only, so the browser must refuse ------------
service refused API_TOKEN=$token CORS_ORIGINS=https://elsewhere.example
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
