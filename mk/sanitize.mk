# Memory and undefined-behaviour checking of the whole service.
#
#   make sanitize   builds everything with AddressSanitizer + UndefinedBehavior-
#                   Sanitizer into $(BUILD)/asan and runs the unit and
#                   integration suites with it (the service under test is the
#                   sanitized binary; any report makes it exit non-zero, which
#                   fails the test that stops it)
#   make valgrind   runs the integration suite with the service (the normal
#                   build) under valgrind memcheck: no invalid read or write,
#                   no use of uninitialised memory, no "definitely lost" byte
#
# make test runs both (scripts/sanitize.sh, scripts/valgrind.sh).

SAN_BUILD := $(BUILD)/asan
# STORE_CHECK_SLOTS: every command whose keys are not all in one Redis
# Cluster slot aborts the service (store/args.h), so the whole suite checks
# that the store is ready for a cluster
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
             -DSTORE_CHECK_SLOTS

.PHONY: sanitize sanitize-build sanitize-bins valgrind valgrind-build

# A make of its own, so that every object is rebuilt with the sanitizers
# (CFLAGS from the environment: the Makefile appends its own flags to it).
sanitize-build:
	@scripts/deps.sh sanitize
	@CFLAGS="$(SAN_FLAGS)" $(MAKE) --no-print-directory BUILD=$(SAN_BUILD) sanitize-bins

sanitize-bins: $(BIN) $(UNIT_BIN) $(IT_BIN)

sanitize: sanitize-build
	@RTSTATE_BIN=$(BIN) scripts/sanitize.sh

valgrind-build:
	@scripts/deps.sh sanitize
	@$(MAKE) --no-print-directory $(BIN) $(IT_BIN)

valgrind: valgrind-build
	@RTSTATE_BIN=$(BIN) scripts/valgrind.sh

TEST_EXTRA_BUILD += sanitize-build valgrind-build
TEST_EXTRA_RUN   += scripts/sanitize.sh scripts/valgrind.sh
