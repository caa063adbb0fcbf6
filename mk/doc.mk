# The README's walkthrough, run as a new user types it (tests/doc/readme.py):
# a fresh instance started with the walkthrough's own `make run` line, in a
# temp dir with its own Redis and MongoDB-compatible server, then every
# example of the API and persistence sections in order, each checked against
# the status and shape its comment shows.
#
#   make doc-test   just this test (KEEP_TMP=1 keeps the instance's files)
#   make test       runs it with everything else

.PHONY: doc-test doc-deps

doc-deps:
	@scripts/deps.sh doc

doc-test: doc-deps
	@$(MAKE) --no-print-directory $(BIN)
	@RTSTATE_BIN=$(BIN) tests/doc/readme.py

TEST_EXTRA_BUILD += doc-deps
TEST_EXTRA_RUN   += tests/doc/readme.py
