#!/usr/bin/env bash
# Browser test of the dashboard page (GET /, web/dashboard.html).
#
# Starts a throwaway redis-server and the service (RTSTATE_BIN, or
# build/rtstate) on free loopback ports in a temp dir, checks what the server
# sends for / and /dashboard, registers two webcam clients with real frames (a
# PNG drawn here with Python's standard library, and tests/browser/frame.jpg),
# then drives the page in Debian's headless Chromium (over the DevTools
# protocol: tests/browser/dashboard.py) and checks what a person would see:
# every panel with data and a labelled time axis (traffic from /metrics, state
# from /redis/stats, online users, frames), a frame PUT after load arriving
# through its event (and no frame read without one), clients and users coming
# and going through events, the charts' history surviving a reload, an empty
# console (no Content-Security-Policy violation); a screenshot of the whole
# page is kept as $DASHBOARD_SCREENSHOT, by default build/browser/dashboard.png;
# and, against a second
# instance with READ_TOKEN on the same Redis, drives the token form the way a
# person would (over the DevTools protocol: tests/browser/dashboard.py).
# Stops everything at the end and closes with "N passed, N failed".
#
#   tests/browser/dashboard.sh        (make test runs it through mk/browser.mk)
#   KEEP_TMP=1 tests/browser/dashboard.sh   keeps the temp dir: the logs
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

# --- what a person sees, live ----------------------------------------------
# driven over the DevTools protocol (an open event stream never lets a
# --dump-dom run settle): every panel, events after load, a reload, the console
start=$(date +%s)
shot=${DASHBOARD_SCREENSHOT:-build/browser/dashboard.png}
mkdir -p "$(dirname "$shot")"
rm -f "$shot"
verdicts < <(HOME=$tmp XDG_CONFIG_HOME=$tmp/xdg XDG_CACHE_HOME=$tmp/xdg timeout 120 \
  "$py" tests/browser/dashboard.py live_flow "$open" "$shot")
size=$(stat -c %s "$shot" 2> /dev/null || echo 0)
read -r w hgt < <(h png_size "$shot" 2> /dev/null || echo 0 0)
check "a screenshot of the whole page, ${w}x$hgt, $size bytes, kept as $shot" \
  test "$size" -gt 20000 -a "$w" = 1280 -a "$hgt" -ge 900

# --- with READ_TOKEN: the token form, driven like a person would -------------
verdicts < <(HOME=$tmp XDG_CONFIG_HOME=$tmp/xdg XDG_CACHE_HOME=$tmp/xdg timeout 90 \
  "$py" tests/browser/dashboard.py token_flow "$locked" "$read_token")
echo "browser: $(($(date +%s) - start)) s in Chromium"

if [ "$failed" -gt 0 ]; then
  echo "--- service logs (last 10 lines each)"; tail -n 10 "$tmp/open.log" "$tmp/locked.log"
fi
finish
