#!/usr/bin/env bash
# The manifest scanners of the tests, built from the Go module proxy on first use into the shared
# cache (local-cluster/lib/go-build.sh), <tool>-<version>/, and reused afterwards.
#   bash scanners.sh trivy-config   Trivy's config checks (trivy-config/main.go), prints its path last
#   bash scanners.sh kube-score     the same for kube-score
set -euo pipefail

readonly TRIVY_VERSION=v0.74.0
readonly KUBE_SCORE_VERSION=v1.20.0

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../local-cluster/lib/go-build.sh
source "$tools_dir/../../local-cluster/lib/go-build.sh"
# Trivy's JSON handling is written against encoding/json/v2, an experiment in Go 1.25 and 1.26.
export GOEXPERIMENT=jsonv2

# Builds NAME into $TOOLCHAIN_DIR/<name>-<key> unless there; prints the tool's path.
ensure() {
  local name=$1 key=$2
  cached_build scanners "$TOOLCHAIN_DIR/$name-$key" "$name" "build_${name//-/_}"
  printf '%s\n' "$TOOLCHAIN_DIR/$name-$key/$name"
}

# A module of its own around main.go that requires Trivy, so only the scanner packages it
# imports are compiled (not the whole CLI).
build_trivy_config() {
  local dest=$1
  local src="$dest/.src"
  mkdir -p "$src"
  cp "$tools_dir/trivy-config/main.go" "$src/"
  (
    cd "$src"
    go mod init todo.local/trivy-config
    go get "github.com/aquasecurity/trivy@$TRIVY_VERSION"
    nice -n 10 go build -ldflags "-s -w" -o "$dest/trivy-config" .
  )
  rm -rf "$src"
}

build_kube_score() {
  GOBIN="$1" nice -n 10 go install -ldflags "-s -w -X main.version=${KUBE_SCORE_VERSION#v}" \
    "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
}

case "${1:-}" in
  trivy-config) ensure trivy-config "$TRIVY_VERSION-$(sha256sum "$tools_dir/trivy-config/main.go" | cut -c1-12)" ;;
  kube-score) ensure kube-score "$KUBE_SCORE_VERSION" ;;
  *) echo "usage: scanners.sh trivy-config|kube-score" >&2; exit 2 ;;
esac
