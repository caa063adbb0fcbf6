#!/usr/bin/env bash
# Prints the path of a `promtool` (Prometheus's own checker) for the metrics
# test (tests/integration/test_metrics.c): one on the PATH when there is one,
# otherwise one built once from the Go module proxy with `go install` (the Go
# toolchain from scripts/go.sh) and cached outside the checkout, beside the
# FerretDB build of scripts/mongo-server.sh. The first build takes a few
# minutes; `promtool --version` says which release it is.
set -euo pipefail
# Prometheus v3.x is the Go module's v0.3xx; the pin keeps every machine's
# checker the same until it is moved on here
version=v0.316.0

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/rtstate/promtool-$version"
bin="$cache/promtool"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

go=$("$(dirname "$0")/go.sh")
export GOTOOLCHAIN=auto GOFLAGS=-mod=mod

echo "building promtool $version (once; cached in $cache)..." >&2
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp" "$go" install -trimpath \
   "github.com/prometheus/prometheus/cmd/promtool@$version") >&2
mv "$tmp/promtool" "$bin"
echo "$bin"
