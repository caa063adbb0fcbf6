#!/usr/bin/env bash
# Prints the path of a MongoDB-compatible server to test and run against:
# a real `mongod` when one is on the PATH, otherwise FerretDB (Apache-2.0,
# speaks the MongoDB wire protocol; here with its SQLite backend), built once
# from the Go module proxy and cached outside the checkout
# (scripts/lib/go-tool.sh), with a Go that fetches the 1.24 toolchain FerretDB
# wants itself (scripts/go.sh).
#
# Why not `go install ...@v1.24.2`: the proxy refuses the module's version
# list that `go install` asks for, and a binary built as the main module
# needs build/version/version.txt, which the module archive leaves empty.
# So: download the module, write the version file, build it.
set -euo pipefail
version=v1.24.2

# go_tool_path's BUILD: $1 is the go command; leaves ./ferretdb
build_ferretdb() {
  local dir
  dir=$("$1" mod download -json "github.com/FerretDB/FerretDB@$version" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "mongo-server.sh: could not download FerretDB $version" >&2; exit 1; }
  cp -r "$dir" src
  chmod -R u+w src
  echo "$version" > src/build/version/version.txt
  (cd src && CGO_ENABLED=0 "$1" build -trimpath -o ../ferretdb ./cmd/ferretdb)
}

. "$(dirname "$0")/lib/go-tool.sh"
go_tool_path mongod ferretdb FerretDB "$version" build_ferretdb
