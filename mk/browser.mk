# Browser tests in Debian's headless Chromium, against the real service with a
# throwaway Redis: the dashboard page (web/dashboard.html, served at / and
# /dashboard, with two webcam clients; tests/browser/dashboard.sh), and CORS
# as a page on another origin meets it (tests/browser/cors.sh).
#
#   make browser   just these tests (the screenshot: build/browser/dashboard.png, or DASHBOARD_SCREENSHOT)
#   make test      runs them with everything else

.PHONY: browser browser-deps

browser-deps:
	@scripts/deps.sh browser

browser: browser-deps
	@$(MAKE) --no-print-directory $(BIN)
	@RTSTATE_BIN=$(BIN) tests/browser/dashboard.sh
	@RTSTATE_BIN=$(BIN) tests/browser/cors.sh

TEST_EXTRA_BUILD += browser-deps
TEST_EXTRA_RUN   += tests/browser/dashboard.sh tests/browser/cors.sh
