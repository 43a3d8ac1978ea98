#!/usr/bin/env bash
# kube-state-metrics, built from the Go module proxy on first use into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain/kube-state-metrics-<version>/ and reused
# afterwards; prints that folder as its last line. The e2e suite's dev path runs it beside its
# Prometheus (e2e/support/monitoring.ts), for the dashboard's replica panel and the containers'
# limits (kube_* series, as kube-prometheus-stack's kube-state-metrics serves them). The folder
# also holds `.build-seconds`: the wall seconds the build took. The Go module and build caches
# are the offline toolchain's (local-cluster/toolchain), shared.
#   bash test/tools/kube-state-metrics.sh   ->  .../kube-state-metrics-v2.20.0   (holds kube-state-metrics)
set -euo pipefail

# The newest release the Go module proxy serves (its go.mod asks for Go 1.26.0). The module has
# no replace lines, so `go install` builds it as it is.
readonly KSM_VERSION=v2.20.0

toolchain_dir="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain"
export GOMODCACHE="$toolchain_dir/go/mod" GOCACHE="$toolchain_dir/go/build"
export GOFLAGS="-trimpath -buildvcs=false -mod=mod" GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0

log() { printf '[kube-state-metrics] %s\n' "$*" >&2; }

dir="$toolchain_dir/kube-state-metrics-$KSM_VERSION"
if [[ ! -x "$dir/kube-state-metrics" ]]; then
  command -v go >/dev/null || { log "go is needed to build kube-state-metrics (apt-get install golang or https://go.dev/dl)"; exit 1; }
  log "building kube-state-metrics $KSM_VERSION from the Go module proxy (once; cached in $dir)"
  mkdir -p "$toolchain_dir"
  started=$SECONDS
  # Built into a temporary folder and renamed, so an interrupted build never looks complete.
  partial="$(mktemp -d "$dir.partial.XXXXXX")"
  chmod 755 "$partial"
  # `kube-state-metrics version` names the release, as the project's Makefile sets it.
  GOBIN="$partial" nice -n 10 go install \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$KSM_VERSION" \
    "k8s.io/kube-state-metrics/v2@$KSM_VERSION" >&2
  printf '%s\n' "$((SECONDS - started))" >"$partial/.build-seconds"
  if ! mv -T "$partial" "$dir" 2>/dev/null; then
    rm -rf "$partial" # another run finished the same build first
  fi
  log "built kube-state-metrics in $((SECONDS - started)) s"
fi
printf '%s\n' "$dir"
