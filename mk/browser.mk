# Browser test of the dashboard page (web/dashboard.html, served at / and
# /dashboard): Debian's headless Chromium against the real service with a
# throwaway Redis and two webcam clients. See tests/browser/dashboard.sh.
#
#   make browser   just this test (DASHBOARD_SCREENSHOT=file.png keeps the screenshot)
#   make test      runs it with everything else

.PHONY: browser browser-deps

browser-deps:
	@scripts/deps.sh browser

browser: browser-deps
	@$(MAKE) --no-print-directory $(BIN)
	@RTSTATE_BIN=$(BIN) tests/browser/dashboard.sh

TEST_EXTRA_BUILD += browser-deps
TEST_EXTRA_RUN   += tests/browser/dashboard.sh
