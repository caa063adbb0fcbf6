#!/usr/bin/env bash
# Prints the path of a `promtool` (Prometheus's own checker) for the metrics
# test (tests/integration/test_metrics.c): one on the PATH when there is one,
# otherwise one built once from the Go module proxy with `go install` (the Go
# toolchain from scripts/go.sh) and cached outside the checkout, beside the
# FerretDB build of scripts/mongo-server.sh (scripts/lib/go-tool.sh). The first
# build takes a few minutes; `promtool --version` says which release it is.
set -euo pipefail
# Prometheus v3.x is the Go module's v0.3xx; the pin keeps every machine's
# checker the same until it is moved on here
version=v0.316.0

# go_tool_path's BUILD: $1 is the go command; leaves ./promtool
build_promtool() {
  CGO_ENABLED=0 GOBIN="$PWD" "$1" install -trimpath \
    "github.com/prometheus/prometheus/cmd/promtool@$version"
}

. "$(dirname "$0")/lib/go-tool.sh"
go_tool_path promtool promtool promtool "$version" build_promtool
