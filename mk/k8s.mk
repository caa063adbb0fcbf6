# Kubernetes manifests (deploy/kubernetes/), validated offline: schemas from
# kubernetes-validate (PyPI, into .venv-k8s/), the kustomization, the rules the
# objects keep together, and the token set-up run with the binary. See
# tests/k8s/validate.sh.
#
#   make k8s    just this check
#   make test   runs it with everything else

.PHONY: k8s k8s-deps

k8s-deps:
	@scripts/deps.sh k8s

k8s: k8s-deps
	@$(MAKE) --no-print-directory $(BIN)
	@RTSTATE_BIN=$(BIN) tests/k8s/validate.sh

TEST_EXTRA_BUILD += k8s-deps
TEST_EXTRA_RUN   += tests/k8s/validate.sh
