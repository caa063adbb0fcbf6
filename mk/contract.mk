# Contract tests: the spec as strict tools read it, and Schemathesis (from
# PyPI, into .venv/) against the service's own openapi.yaml, with a throwaway
# Redis and MongoDB-compatible server. See scripts/openapi-lint.sh and
# scripts/contract.sh.
#
#   make openapi-lint   the strict YAML check and Redocly's lint (a few seconds)
#   make contract       the long Schemathesis run (1000 examples per operation)
#   make test           both lints and a bounded run (100 examples per operation, fixed seed)
#
# Redocly CLI comes from the npm registry into .npm-tools/ and needs Node.js
# 20.19 or later, which Debian 12's own nodejs (18) is not: the machines come
# with it (README, Contract tests).

.PHONY: contract contract-deps openapi-lint

contract-deps:
	@scripts/deps.sh contract

openapi-lint: contract-deps
	@scripts/openapi-lint.sh

contract: contract-deps
	@$(MAKE) --no-print-directory $(BIN)
	@RTSTATE_BIN=$(BIN) scripts/contract.sh --long

TEST_EXTRA_BUILD += contract-deps
TEST_EXTRA_RUN   += scripts/openapi-lint.sh scripts/contract.sh
