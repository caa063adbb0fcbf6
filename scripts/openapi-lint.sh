#!/usr/bin/env bash
# Lints the contract as the tools people use read it:
#   1. every YAML file of the project (openapi.yaml first) with a strict
#      loader that refuses a key given twice (tests/contract/yaml_strict.py);
#   2. openapi.yaml with Redocly CLI (pinned below, from the npm registry into
#      .npm-tools/, kept between runs) and the committed redocly.yaml: the
#      recommended rules, every warning an error, a rule switched off only
#      there with its reason.
# Closes with "N passed, N failed", one test per step. Needs Node.js 20.19 or
# later (Redocly's own requirement) and python3 (for the venv of the contract
# tests, scripts/contract-venv.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
REDOCLY_VERSION=2.77.0
passed=0 failed=0
result() { # name rc
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}

# shellcheck source=scripts/contract-venv.sh
. scripts/contract-venv.sh
if contract_venv; then
  mapfile -t files < <({ echo openapi.yaml; echo redocly.yaml
                         git ls-files '*.yaml' '*.yml' 2>/dev/null; } | awk '!seen[$0]++')
  "$py" tests/contract/yaml_strict.py "${files[@]}"
  result "strict YAML (no key twice)" $?
else
  echo "cannot install the contract venv"
  result "strict YAML (no key twice)" 1
fi

tools=$root/.npm-tools
redocly=$tools/node_modules/.bin/redocly
installed=$(node -p "require('$tools/node_modules/@redocly/cli/package.json').version" 2>/dev/null)
if [ "$installed" != "$REDOCLY_VERSION" ]; then
  echo "installing @redocly/cli $REDOCLY_VERSION into .npm-tools/" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    "@redocly/cli@$REDOCLY_VERSION" >&2
fi
if [ -x "$redocly" ]; then
  # no telemetry, no update check: the lint reads only these two files
  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
    "$redocly" lint openapi.yaml --config redocly.yaml --format=stylish 2>&1 |
    grep -v '[║╔╚]' # Redocly's banner about Node.js 20 reaching its end of life
  result "redocly lint @$REDOCLY_VERSION" "${PIPESTATUS[0]}"
else
  echo "cannot install @redocly/cli $REDOCLY_VERSION (needs node and npm)"
  result "redocly lint @$REDOCLY_VERSION" 1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
