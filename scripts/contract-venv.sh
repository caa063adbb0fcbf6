# shellcheck shell=bash
# Sourced by scripts/contract.sh and scripts/openapi-lint.sh: the contract
# tests' Python venv, .venv/, with Schemathesis (and so PyYAML) from PyPI at
# the pinned version. contract_venv installs it when it is missing or another
# version; it sets venv and py, and returns non-zero when it cannot.
SCHEMATHESIS_VERSION=4.32.5

contract_venv() {
  venv=$root/.venv
  py=$venv/bin/python
  "$venv/bin/schemathesis" --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$" && return 0
  echo "installing schemathesis $SCHEMATHESIS_VERSION into .venv/" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2
}
