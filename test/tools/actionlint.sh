#!/usr/bin/env bash
# Prints the path of actionlint, building it from the Go module proxy into the shared cache
# (local-cluster/lib/go-build.sh) when absent.
set -euo pipefail
readonly VERSION=v1.7.12

# shellcheck source=../../local-cluster/lib/go-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../local-cluster/lib/go-build.sh"

install_actionlint() { GOBIN="$1" nice -n 10 go install -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"; }

dir="$TOOLCHAIN_DIR/actionlint-$VERSION"
cached_build actionlint "$dir" actionlint install_actionlint
echo "$dir/actionlint"
