#!/usr/bin/env bash
# Browser test of the dashboard page (GET /, web/dashboard.html).
#
# Starts a throwaway redis-server and the service (RTSTATE_BIN, or
# build/rtstate) on free loopback ports in a temp dir, checks what the server
# sends for / and /dashboard, registers two webcam clients with real frames (a
# PNG drawn here with Python's standard library, and tests/browser/frame.jpg),
# then loads the page in Debian's headless Chromium and checks what a person
# would see: both clients, both frames decoded, health and charts filled in,
# no Content-Security-Policy violation; that a screenshot is produced (kept as
# $DASHBOARD_SCREENSHOT when that is set, for a look); and, against a second
# instance with READ_TOKEN on the same Redis, drives the token form the way a
# person would (over the DevTools protocol: tests/browser/dashboard.py).
# Stops everything at the end and closes with "N passed, N failed".
#
#   tests/browser/dashboard.sh        (make test runs it through mk/browser.mk)
#   KEEP_TMP=1 tests/browser/dashboard.sh   keeps the temp dir: dumped DOM, logs, screenshot
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/browser/lib.sh

# --- the service open, and with READ_TOKEN, on one Redis ----------------------
# clients stay connected for the whole test, however slow the browser starts
read_token=dashboard-test-read-token # a throwaway value for this test only
service locked CLIENT_TIMEOUT_MS=600000 READ_TOKEN=$read_token
locked=$base
service open CLIENT_TIMEOUT_MS=600000
open=$base

# --- what the server sends ---------------------------------------------------
verdicts < <(h page "$open")

h client "$open" cam-png - image/png && h client "$open" cam-jpeg tests/browser/frame.jpg image/jpeg ||
  { bad "two clients with frames are registered"; finish; }

# --- what a person sees ------------------------------------------------------
start=$(date +%s)
chrome --dump-dom "$open/" > "$tmp/dom.html" 2> "$tmp/chrome-dom.log"
dom=$(cat "$tmp/dom.html")
has() { # has PATTERN...: the DOM matches every extended regex
  local p
  for p; do grep -qE -- "$p" <<< "$dom" || return 1; done
}
check "the page finished its first refresh (data-ready=\"1\")" has '<body[^>]* data-ready="1"'
check "a tile for client cam-png" has 'data-client-id="cam-png"'
check "a tile for client cam-jpeg" has 'data-client-id="cam-jpeg"'
loaded=$(grep -oE '<img[^>]*data-loaded="1"' <<< "$dom" | grep -c 'src="blob:')
check "both frames decoded (2 images with data-loaded=\"1\", got $loaded)" test "$loaded" -eq 2
check "each tile shows its frame number and age" \
  test "$(grep -oE '<span class="meta">#1 · [0-9.]+ (ms|s) ago</span>' <<< "$dom" | wc -l)" -eq 2
check "the health cards show pass and Redis connected" \
  has 'id="h-status">pass<' 'id="h-redis">connected<'
check "the charts show 2 clients and Redis memory" \
  has 'id="v-clients">2<' 'id="v-memory">[0-9.]+ (KiB|MiB|GiB)<'
check "the clients count says 2 connected" has 'id="clients-count">\(2 connected\)<'
check "no token form while no token is needed" has '<form id="token-form" hidden'
# the page logs nothing itself: any console line is a CSP violation, an error or a warning
check "the browser console stays empty (no CSP violation, script error or warning)" \
  eval '! grep -E "CONSOLE|Refused to|Uncaught" "$tmp/chrome-dom.log"'

shot=$tmp/dashboard.png
chrome --screenshot="$shot" --window-size=1280,900 --hide-scrollbars "$open/" \
  > "$tmp/chrome-shot.log" 2>&1
size=$(stat -c %s "$shot" 2> /dev/null || echo 0)
read -r w hgt < <(h png_size "$shot" 2> /dev/null || echo 0 0)
check "a 1280x900 screenshot of $size bytes (more than 20 KB)" \
  test "$size" -gt 20000 -a "$w" = 1280 -a "$hgt" = 900
[ -n "${DASHBOARD_SCREENSHOT:-}" ] && cp "$shot" "$DASHBOARD_SCREENSHOT"

# --- with READ_TOKEN: the token form, driven like a person would -------------
verdicts < <(HOME=$tmp XDG_CONFIG_HOME=$tmp/xdg XDG_CACHE_HOME=$tmp/xdg timeout 90 \
  "$py" tests/browser/dashboard.py token_flow "$locked" "$read_token")
echo "browser: $(($(date +%s) - start)) s in Chromium"

if [ "$failed" -gt 0 ]; then
  echo "--- dumped DOM (first 60 lines)"; head -60 "$tmp/dom.html"
  echo "--- chromium console"; grep -E "CONSOLE|Refused to|Uncaught" "$tmp/chrome-dom.log" | tail -20
  echo "--- service logs (last 10 lines each)"; tail -10 "$tmp/open.log" "$tmp/locked.log"
fi
finish
