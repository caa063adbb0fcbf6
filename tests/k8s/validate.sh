#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/kubernetes/ offline: schemas
# (kubernetes-validate, which bundles the Kubernetes JSON schemas, pinned
# below, from PyPI into .venv-k8s/, with jsonschema for the ServiceMonitor's
# focused schema), the kustomization, the rules the objects must keep
# together, and the binary started as the Deployment starts it, on loopback
# (tests/k8s/manifests.py). No cluster, no network once the venv exists.
# Closes with "N passed, N failed".
#
#   tests/k8s/validate.sh        (make test runs it through mk/k8s.mk)
set -uo pipefail
cd "$(dirname "$0")/../.."
KUBERNETES_VALIDATE_VERSION=1.37.0
venv=$PWD/.venv-k8s
bin=${RTSTATE_BIN:-build/rtstate}

if ! "$venv/bin/kubernetes-validate" --version 2> /dev/null |
  grep -q "$KUBERNETES_VALIDATE_VERSION"; then
  echo "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into .venv-k8s/" >&2
  python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2 ||
    { echo "k8s: cannot install kubernetes-validate"; echo "0 passed, 1 failed"; exit 1; }
fi
exec "$venv/bin/python" tests/k8s/manifests.py deploy/kubernetes "$bin"
