# Coverage-guided fuzzing with libFuzzer (clang from Debian): one harness per
# parser in tests/fuzz/, each linked with only the objects it exercises, all
# built with AddressSanitizer and UndefinedBehaviorSanitizer into $(BUILD)/fuzz.
#
#   make fuzz [FUZZ_SECONDS=N]   every harness for N seconds (default 300)
#   make test                    every harness for about 20 s (scripts/fuzz.sh)
#
# Seeds are committed in tests/fuzz/corpus/<harness>/; what a run discovers
# stays in a temp dir. A crash, leak or timeout leaves its input in
# $(BUILD)/fuzz/artifacts/: fix the bug, then add the input to the corpus.

FUZZ_CC     := clang
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
               -Werror -pthread -MMD -MP $(FUZZ_SAN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SECONDS ?= 300

# harness -> the project sources it links (without .c); the pure helpers in
# core/ go with any harness whose code may call them
FUZZ_CORE          := $(basename $(CORE_SRC))
FUZZ_OBJ_router    := api/http/router
FUZZ_OBJ_negotiate := api/http/negotiate
FUZZ_OBJ_redis_url := core/redis_url
FUZZ_OBJ_imagetype := core/imagetype
FUZZ_OBJ_base64    := core/base64
FUZZ_OBJ_timefmt   := core/timefmt
FUZZ_OBJ_config    := core/config
FUZZ_OBJ_json_body := api/http/input api/http/problem api/http/request $(FUZZ_CORE)
FUZZ_OBJ_reply     := store/reply store/stats store/nodes store/batch store/script store/conn \
                      store/link store/cluster store/args store/keys $(FUZZ_CORE)
FUZZ_OBJ_escape    := api/http/problem api/http/request $(FUZZ_CORE)
FUZZ_NAMES := router negotiate redis_url imagetype base64 timefmt config json_body reply escape
FUZZ_BINS  := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-build

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): $(patsubst %,$(FUZZ_DIR)/obj/%.o,tests/fuzz/fuzz_$(1) $(FUZZ_OBJ_$(1)))
	@mkdir -p $$(dir $$@)
	@echo "  FUZZ  $$@"
	@$(FUZZ_CC) $(filter-out -MMD -MP,$(FUZZ_CFLAGS)) -fsanitize=fuzzer -o $$@ $$^ $(LDLIBS)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(n))))

fuzz-build:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) scripts/fuzz.sh $(FUZZ_SECONDS)

# make test: every harness briefly (scripts/fuzz.sh finds $(BUILD)/fuzz next to RTSTATE_BIN)
TEST_EXTRA_BUILD += fuzz-build
TEST_EXTRA_RUN   += scripts/fuzz.sh
