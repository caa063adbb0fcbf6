# Sourced (not run) by the scripts that print the path of a tool the tests
# need (scripts/promtool.sh, scripts/mongo-server.sh): the one place for their
# shared rule, "the tool on the PATH when there is one, otherwise a build of a
# pinned version, made once with the Go toolchain of scripts/go.sh and cached
# outside the checkout".

# go_tool_path COMMAND FILE LABEL VERSION BUILD
#   Prints the path of COMMAND when it is on the PATH; otherwise of FILE in
#   ${XDG_CACHE_HOME:-~/.cache}/rtstate/FILE-VERSION, building it there first
#   when it is not there yet. Nothing else goes to stdout: callers take it as
#   a path. To build, it calls the function named BUILD with the path of a Go
#   toolchain (GOTOOLCHAIN=auto, GOFLAGS=-mod=mod exported), in a fresh
#   directory of its own that is removed afterwards, and BUILD's stdout sent
#   to stderr; BUILD must leave the binary there as FILE, and may read the
#   caller's variables. LABEL names the tool in messages. Exits the script
#   (status 1) when there is no Go or BUILD fails.
go_tool_path() {
  local command=$1 file=$2 label=$3 version=$4 build=$5
  if command -v "$command" >/dev/null 2>&1; then
    command -v "$command"
    return 0
  fi

  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/rtstate/$file-$version"
  local bin="$cache/$file"
  if [ -x "$bin" ]; then
    echo "$bin"
    return 0
  fi

  local go script
  script=$(basename "$0")
  go=$("$(dirname "${BASH_SOURCE[0]}")/../go.sh") ||
    { echo "$script: $label $version needs Go, or put $command on the PATH." >&2; exit 1; }
  export GOTOOLCHAIN=auto GOFLAGS=-mod=mod

  echo "building $label $version (once; cached in $cache)..." >&2
  mkdir -p "$cache"
  # beside the cache, so that the finished binary moves in whole
  go_tool_work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'chmod -R u+w "$go_tool_work" 2>/dev/null; rm -rf "$go_tool_work"' EXIT
  (cd "$go_tool_work" && "$build" "$go") >&2
  mv "$go_tool_work/$file" "$bin"
  echo "$bin"
}
