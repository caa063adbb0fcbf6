#!/usr/bin/env bash
# Installs the Debian packages a goal needs, and only the missing ones.
#   scripts/deps.sh build|test|run|lint|fuzz|sanitize|contract|bench|browser|k8s|doc|go
# Uses sudo when not root. Every package the project uses is named here and
# nowhere else, so a fresh Debian 12 machine needs nothing installed by hand.
set -euo pipefail

build=(gcc make pkg-config libmicrohttpd-dev libhiredis-dev libcjson-dev libssl-dev libmongoc-dev)
servers=(redis-server redis-tools)  # redis-cli --cluster create makes the tests' clusters
test=(libcmocka-dev libcurl4-openssl-dev libsqlite3-dev)  # sqlite3: stalling FerretDB's file
lint=(clang-format cppcheck)
fuzz=(clang libclang-rt-14-dev)  # libFuzzer and clang's sanitizer runtimes
memory=(valgrind)
contract=(python3-venv)          # Schemathesis itself comes from PyPI into .venv/
bench=(wrk nginx webdis valgrind redis-tools curl)  # load generator, the static-file and Redis-over-HTTP yardsticks, callgrind
browser=(chromium fonts-dejavu-core python3)  # the dashboard's headless browser test
k8s=(python3-venv)               # kubernetes-validate comes from PyPI into .venv-k8s/
doc=(python3 curl)               # the README's walkthrough, typed by tests/doc/readme.py
go=(golang-go)  # Go 1.19: scripts/go.sh lifts it to the release a build wants (FerretDB, promtool)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  run)   want=("${build[@]}" "${servers[@]}") ;;
  test)  want=("${build[@]}" "${servers[@]}" "${test[@]}") ;;
  lint)  want=("${lint[@]}") ;;
  fuzz)  want=("${build[@]}" "${fuzz[@]}") ;;
  sanitize) want=("${build[@]}" "${servers[@]}" "${test[@]}" "${memory[@]}") ;;
  contract) want=("${build[@]}" "${servers[@]}" "${contract[@]}") ;;
  bench) want=("${build[@]}" "${servers[@]}" "${bench[@]}") ;;
  browser) want=("${build[@]}" "${servers[@]}" "${browser[@]}") ;;
  k8s)   want=("${k8s[@]}") ;;
  doc)   want=("${build[@]}" "${servers[@]}" "${doc[@]}") ;;
  go)    # only when the machine has no Go of its own (scripts/go.sh looks for it)
         if command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ]; then exit 0; fi
         want=("${go[@]}") ;;
  *) echo "usage: $0 build|run|test|lint|fuzz|sanitize|contract|bench|browser|k8s|doc|go" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
