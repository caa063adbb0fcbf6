#!/usr/bin/env bash
# Prints the path of a Go toolchain that can build what the project builds
# from the Go module proxy (FerretDB in scripts/mongo-server.sh, promtool in
# scripts/promtool.sh): one of Go 1.21 or newer, which fetches the release a
# module asks for by itself (GOTOOLCHAIN=auto, from the module proxy too).
#
# The PATH's go, or /usr/local/go's, when it is that new. An older one (Debian
# 12's golang-go is 1.19; `scripts/deps.sh go` installs it where there is no
# Go) cannot switch releases by itself: it downloads the module that holds a
# newer release (golang.org/toolchain, what GOTOOLCHAIN=auto would fetch) and
# that one is used, cached outside the checkout.
set -euo pipefail
release=1.24.0

go=$(command -v go || true)
[ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  echo "go.sh: no Go toolchain; scripts/deps.sh go installs one" >&2
  exit 1
fi
# go1.19 -> 19
minor=$("$go" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ "${minor:-0}" -ge 21 ]; then
  echo "$go"
  exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/rtstate/go$release"
if [ -x "$cache/bin/go" ]; then
  echo "$cache/bin/go"
  exit 0
fi
echo "go.sh: $("$go" env GOVERSION) is too old to fetch a toolchain; downloading go$release" \
     "from the Go module proxy (once; cached in $cache)..." >&2
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mod="golang.org/toolchain@v0.0.1-go$release.$("$go" env GOOS)-$("$go" env GOARCH)"
dir=$(cd "$work" && GOPATH="$work/gopath" GOFLAGS=-mod=mod "$go" mod download -json "$mod" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -f "$dir/bin/go" ] || { echo "go.sh: could not download $mod" >&2; exit 1; }
mkdir -p "$(dirname "$cache")"
rm -rf "$cache.tmp"
cp -r "$dir" "$cache.tmp"
chmod -R u+w "$cache.tmp"
# a module's files come without their execute bits (the go command sets them
# on a toolchain it fetches itself)
chmod +x "$cache.tmp"/bin/* "$cache.tmp"/pkg/tool/*/*
mv "$cache.tmp" "$cache"
echo "$cache/bin/go"
