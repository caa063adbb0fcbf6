# Benchmarks against the physical limits, and an instruction-count guard.
#
#   make bench            every scenario of bench/README.md side by side with
#                         Webdis, nginx and its limit (wrk, its own redis-server,
#                         webdis and nginx on free loopback ports); prints one
#                         table and a verdict per target, writes
#                         bench/results/latest.json (about 7 min on 2 cores)
#   make soak             the service's RSS over a 5-minute mixed run (SOAK_SECONDS)
#   make bench-baseline   re-measures bench/baseline.json (commit it with a
#                         change that is meant to cost more, saying why)
#   make test             runs bench/guard.sh: the service under callgrind, a
#                         fixed request sequence, fails past +10 % instructions
#   make bench-suspend    what libmicrohttpd's suspend/resume costs per request
#                         (bench/suspend.c; the async question in bench/README.md)
#
# The tools (a pipelined hiredis driver and an HTTP client for sequences and
# open-loop loads) go to $(BUILD)/bench; the driver links the store's key
# builder (store/keys.c), so its commands and the peers' URLs name the keys the
# service writes, and embeds the store's connect script (copied from
# store/clients.c at build time) to register clients in bulk.

BENCH_DIR     := $(BUILD)/bench
BENCH_TOOLS   := $(BENCH_DIR)/redisbench $(BENCH_DIR)/httpseq $(BENCH_DIR)/sseclients
BENCH_SCRIPTS := store/clients.c # its connect script registers clients in bulk
BENCH_LIBS    := $(shell pkg-config --libs hiredis openssl 2>/dev/null) -pthread

.PHONY: bench soak bench-baseline bench-build bench-guard-build bench-suspend

$(BENCH_DIR)/scripts.h: bench/extract-scripts.awk $(BENCH_SCRIPTS)
	@mkdir -p $(dir $@)
	@awk -f bench/extract-scripts.awk $(BENCH_SCRIPTS) > $@

$(BENCH_DIR)/redisbench: bench/redisbench.c $(BENCH_DIR)/scripts.h $(BUILD)/store/keys.o $(BUILD)/core/crc16.o $(BUILD)/core/ids.o \
                         $(BUILD)/core/timefmt.o
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -I$(BENCH_DIR) -o $@ $(filter %.c %.o,$^) $(BENCH_LIBS)

$(BENCH_DIR)/httpseq: bench/httpseq.c
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $< -lm

$(BENCH_DIR)/sseclients: bench/sseclients.c
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $<

$(BENCH_DIR)/suspend: bench/suspend.c
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $< $(shell pkg-config --libs libmicrohttpd 2>/dev/null) -pthread

bench-suspend: bench-build $(BENCH_DIR)/suspend
	@SUSPEND_BIN=$(BENCH_DIR)/suspend bench/suspend.sh

bench-build:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_TOOLS)

bench: bench-build
	@RTSTATE_BIN=$(BIN) bench/bench.sh

soak: bench-build
	@RTSTATE_BIN=$(BIN) bench/bench.sh --soak $(or $(SOAK_SECONDS),300)

# valgrind only: the guard needs neither wrk nor nginx
bench-guard-build:
	@scripts/deps.sh sanitize
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_DIR)/httpseq

bench-baseline: bench-guard-build
	@RTSTATE_BIN=$(BIN) bench/guard.sh --write

TEST_EXTRA_BUILD += bench-guard-build $(BENCH_DIR)/suspend # built, so it keeps compiling
TEST_EXTRA_RUN   += bench/guard.sh

# The async prototypes (bench/async_proto.c): the service's transport choice,
# measured. make bench-async prints the table bench/README.md quotes.
PROTO_LIBS := $(shell pkg-config --libs libmicrohttpd hiredis 2>/dev/null) -pthread

$(BENCH_DIR)/async_proto: bench/async_proto.c core/coro.c core/coro.h
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ bench/async_proto.c core/coro.c $(PROTO_LIBS)

$(BENCH_DIR)/async_proto_uc: bench/async_proto.c core/coro.c core/coro.h
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -DCORE_CORO_UCONTEXT -o $@ bench/async_proto.c core/coro.c $(PROTO_LIBS)

.PHONY: bench-async
bench-async: bench-build $(BENCH_DIR)/async_proto $(BENCH_DIR)/async_proto_uc
	@PROTO_DIR=$(BENCH_DIR) bench/async_proto.sh

TEST_EXTRA_BUILD += $(BENCH_DIR)/async_proto # built, so it keeps compiling
