# Contract tests: Schemathesis (from PyPI, into .venv/) against the service's
# own openapi.yaml, with a throwaway Redis. See scripts/contract.sh.
#
#   make contract     the long run (1000 examples per operation, about 10 min)
#   make test         a bounded run (100 examples per operation, fixed seed)

.PHONY: contract contract-deps

contract-deps:
	@scripts/deps.sh contract

contract: contract-deps
	@$(MAKE) --no-print-directory $(BIN)
	@RTSTATE_BIN=$(BIN) scripts/contract.sh --long

TEST_EXTRA_BUILD += contract-deps
TEST_EXTRA_RUN   += scripts/contract.sh
