#!/usr/bin/env bash
# Prints the path of a MongoDB-compatible server to test and run against:
# a real `mongod` when one is on the PATH, otherwise FerretDB (Apache-2.0,
# speaks the MongoDB wire protocol; here with its SQLite backend), built once
# from the Go module proxy and cached outside the checkout.
#
# Why not `go install ...@v1.24.2`: the proxy refuses the module's version
# list that `go install` asks for, and a binary built as the main module
# needs build/version/version.txt, which the module archive leaves empty.
# So: download the module, write the version file, build it.
set -euo pipefail
version=v1.24.2

if command -v mongod >/dev/null 2>&1; then
  command -v mongod
  exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/rtstate/ferretdb-$version"
bin="$cache/ferretdb"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

# a Go that fetches the 1.24 toolchain FerretDB wants itself (see scripts/go.sh)
go=$("$(dirname "$0")/go.sh") ||
  { echo "mongo-server.sh: FerretDB $version needs Go, or put mongod on the PATH." >&2; exit 1; }
export GOTOOLCHAIN=auto GOFLAGS=-mod=mod

echo "building FerretDB $version (once; cached in $cache)..." >&2
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
dir=$(cd "$work" && "$go" mod download -json "github.com/FerretDB/FerretDB@$version" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "mongo-server.sh: could not download FerretDB $version" >&2; exit 1; }
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
echo "$version" > "$work/src/build/version/version.txt"
mkdir -p "$cache"
(cd "$work/src" && CGO_ENABLED=0 "$go" build -trimpath -o "$bin.tmp" ./cmd/ferretdb) >&2
mv "$bin.tmp" "$bin"
echo "$bin"
