#!/usr/bin/env bash
# The manifest scanners of the tests, built from the Go module proxy on first use into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain/<tool>-<version>/ and reused afterwards.
# Their Go module and build caches are the offline toolchain's (local-cluster/toolchain), shared.
#   bash scanners.sh trivy-config   Trivy's config checks (trivy-config/main.go), prints its path last
#   bash scanners.sh kube-score     the same for kube-score
set -euo pipefail

readonly TRIVY_VERSION=v0.74.0
readonly KUBE_SCORE_VERSION=v1.20.0

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchain_dir="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain"
export GOMODCACHE="$toolchain_dir/go/mod" GOCACHE="$toolchain_dir/go/build"
export GOFLAGS="-trimpath -buildvcs=false -mod=mod" GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
# Trivy's JSON handling is written against encoding/json/v2, an experiment in Go 1.25 and 1.26.
export GOEXPERIMENT=jsonv2

log() { printf '[scanners] %s\n' "$*" >&2; }

# Runs "build_<name> <folder>" into a temporary folder renamed to $toolchain_dir/<name>-<key>
# unless that exists, so an interrupted build never looks complete; prints the tool's path.
ensure() {
  local name=$1 key=$2
  local dir="$toolchain_dir/$name-$key" partial started=$SECONDS
  if [[ ! -x "$dir/$name" ]]; then
    command -v go >/dev/null || { log "go is needed to build $name (apt-get install golang or https://go.dev/dl)"; exit 1; }
    log "building $name $key from the Go module proxy (once; cached in $dir)"
    mkdir -p "$toolchain_dir"
    partial="$(mktemp -d "$dir.partial.XXXXXX")"
    "build_${name//-/_}" "$partial" >&2
    if ! mv -T "$partial" "$dir" 2>/dev/null; then
      rm -rf "$partial" # another run finished the same build first
    fi
    log "built $name $key in $((SECONDS - started)) s"
  fi
  printf '%s\n' "$dir/$name"
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
  *) log "usage: scanners.sh trivy-config|kube-score"; exit 2 ;;
esac
