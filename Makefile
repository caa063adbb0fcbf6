# rtstate: real-time state service. `make run` and `make test` are all a fresh
# Debian 12 machine needs; both install what is missing first (scripts/deps.sh).

CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wno-format-truncation -pthread -MMD -MP
PKGS    := libmicrohttpd hiredis libcjson openssl libmongoc-1.0
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
TESTLIBS:= $(shell pkg-config --libs cmocka libcurl 2>/dev/null)

BUILD   := build
BIN     := $(BUILD)/rtstate

CORE_SRC  := $(wildcard core/*.c)
STORE_SRC := $(wildcard store/*.c)
MONGO_SRC := $(wildcard mongo/*.c)
API_SRC   := $(filter-out api/main.c,$(wildcard api/*.c api/http/*.c))
LIB_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC) $(STORE_SRC) $(MONGO_SRC) $(API_SRC))

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
IT_SRC    := $(wildcard tests/integration/test_*.c)
IT_BIN    := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(IT_SRC))
IT_LIB    := $(BUILD)/tests/integration/harness.o

.SECONDARY:
.PHONY: all deps run test unit integration format lint clean

all: deps $(BIN)

deps:
	@scripts/deps.sh build

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -c $< -o $@

# The commit that rtstate_build_info names (GET /metrics): git's, or
# REVISION=... where there is no .git (an image build). Only metrics.o takes
# it, rebuilt when it changes (build/revision holds the last one).
ifndef REVISION
REVISION := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
endif
$(BUILD)/api/metrics.o: CFLAGS += -DRTSTATE_REVISION='"$(REVISION)"'
$(BUILD)/api/metrics.o: $(BUILD)/revision
$(BUILD)/revision: FORCE
	@mkdir -p $(dir $@)
	@echo '$(REVISION)' | cmp -s - $@ || echo '$(REVISION)' > $@
.PHONY: FORCE

# the spec is embedded with .incbin: rebuild when it changes
$(BUILD)/api/spec.o: openapi.yaml
$(BUILD)/api/dashboard.o: web/dashboard.html

$(BIN): $(LIB_OBJ) $(BUILD)/api/main.o
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) $(TESTLIBS)

# the tests name Redis keys with the service's own key builder (store/keys.c)
IT_KEYS   := $(BUILD)/store/keys.o $(BUILD)/core/crc16.o $(BUILD)/core/ids.o
$(BUILD)/tests/integration/%: tests/integration/%.c $(IT_LIB) $(BUILD)/core/base64.o \
                            $(BUILD)/core/timefmt.o $(IT_KEYS)
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) $(TESTLIBS)

# the cluster events test finds a bucket's slot (core/crc16.c)
$(BUILD)/tests/integration/test_cluster_events: $(BUILD)/core/crc16.o

# test_reads walks the route table itself (api_routes[]), so it links the service's code.
$(BUILD)/tests/integration/test_reads: $(LIB_OBJ)

# The connection layer against a real Redis Cluster links that layer alone,
# not the service (whose store modules still run scripts over several slots).
CLUSTER_IT_OBJ := $(patsubst %,$(BUILD)/store/%.o,conn cluster link args reply script keys) \
                  $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC))
$(BUILD)/tests/integration/test_cluster_conn: tests/integration/test_cluster_conn.c $(IT_LIB) \
                                              $(CLUSTER_IT_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) $(TESTLIBS)

# the stall test holds SQLite's write lock on FerretDB's database file
$(BUILD)/tests/integration/test_mongo_writes: TESTLIBS += -lsqlite3
# explains the service's own queries: builds them with mongo/
$(BUILD)/tests/integration/test_mongo_schema: $(LIB_OBJ)

# Runs the service with its own Redis and MongoDB-compatible server unless
# REDIS_URL and MONGODB_URI point at existing ones.
run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory $(BIN)
	@scripts/run.sh $(BIN)

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BIN) $(IT_BIN) $(TEST_EXTRA_BUILD)
	@mongo=$$(scripts/mongo-server.sh) && MONGO_SERVER_BIN=$$mongo RTSTATE_BIN=$(BIN) \
	  scripts/test.sh --cluster $(UNIT_BIN) -- $(IT_BIN) $(TEST_EXTRA_RUN)

unit: deps $(UNIT_BIN)
	@scripts/test.sh $(UNIT_BIN) --

integration: deps $(BIN) $(IT_BIN)
	@mongo=$$(scripts/mongo-server.sh) && MONGO_SERVER_BIN=$$mongo RTSTATE_BIN=$(BIN) \
	  scripts/test.sh --cluster -- $(IT_BIN)

format:
	@scripts/deps.sh lint
	clang-format -i $(shell git ls-files '*.c' '*.h')

lint:
	@scripts/deps.sh lint
	@clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  --suppress=missingIncludeSystem --inline-suppr core store api tests

clean:
	rm -rf $(BUILD)

# Each further suite (fuzzing, contract tests, benchmarks) keeps its rules in
# a fragment of its own; a fragment may add to TEST_EXTRA_BUILD (targets that
# make test builds) and TEST_EXTRA_RUN (commands scripts/test.sh runs).
-include $(wildcard mk/*.mk)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
