#!/usr/bin/env bash
# Prints the path of actionlint, building it from the Go module proxy into the cache when absent.
set -euo pipefail
readonly VERSION=v1.7.12
bin_dir=${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain/actionlint-$VERSION
if [ ! -x "$bin_dir/actionlint" ]; then
  command -v go >/dev/null || { echo "actionlint: Go is needed to build it (apt-get install golang or https://go.dev/dl)" >&2; exit 1; }
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" CGO_ENABLED=0 GOFLAGS=-trimpath go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
fi
echo "$bin_dir/actionlint"
