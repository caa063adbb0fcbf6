# /metrics as Prometheus reads it: tests/integration/test_metrics.c runs
# Prometheus's own checker, `promtool check metrics`, on both forms (text and
# OpenMetrics) of a running instance. promtool is built once from the Go module
# proxy and cached outside the checkout (scripts/promtool.sh); make test builds
# it before the suites run, so that no test waits for it.
#
#   make metrics-deps   just that

.PHONY: metrics-deps

metrics-deps:
	@scripts/deps.sh go
	@scripts/promtool.sh >/dev/null

TEST_EXTRA_BUILD += metrics-deps

integration: metrics-deps
