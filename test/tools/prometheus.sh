#!/usr/bin/env bash
# Prometheus and promtool, built from the Go module proxy on first use into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain/prometheus-<version>-<tags>/ and reused
# afterwards; prints that folder as its last line. promtool tests the alert rules and checks the
# dashboard's queries (test/monitoring-rules.test.ts); the server is the e2e suite's Prometheus.
# Both come from one `go install`, so they share one compilation of the packages they have in
# common. The Go module and build caches are the offline toolchain's (local-cluster/toolchain), shared.
#   bash test/tools/prometheus.sh   ->  .../prometheus-v0.316.0-<tags>   (holds prometheus, promtool)
set -euo pipefail

# Prometheus 3.16.0: its Go module numbers 3.x.y as v0.3xx.y.
readonly PROMETHEUS_VERSION=v0.316.0
# Service discovery for Kubernetes only (plus file, HTTP and static, always in): the cloud
# providers' SDKs would double the build. No web UI assets (builtinassets): the API is enough.
readonly BUILD_TAGS=remove_all_sd,enable_kubernetes_sd

toolchain_dir="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain"
export GOMODCACHE="$toolchain_dir/go/mod" GOCACHE="$toolchain_dir/go/build"
export GOFLAGS="-trimpath -buildvcs=false -mod=mod" GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0

log() { printf '[prometheus] %s\n' "$*" >&2; }

dir="$toolchain_dir/prometheus-$PROMETHEUS_VERSION-${BUILD_TAGS//,/-}"
if [[ ! -x "$dir/prometheus" || ! -x "$dir/promtool" ]]; then
  command -v go >/dev/null || { log "go is needed to build Prometheus (apt-get install golang or https://go.dev/dl)"; exit 1; }
  log "building prometheus and promtool $PROMETHEUS_VERSION from the Go module proxy (once; cached in $dir)"
  mkdir -p "$toolchain_dir"
  started=$SECONDS
  # Built into a temporary folder and renamed, so an interrupted build never looks complete.
  partial="$(mktemp -d "$dir.partial.XXXXXX")"
  module=github.com/prometheus/prometheus
  # `prometheus --version` names the release: v0.316.0 is 3.16.0.
  IFS=. read -r _ minor patch <<<"${PROMETHEUS_VERSION#v}"
  release="3.$((minor - 300)).$patch"
  GOBIN="$partial" nice -n 10 go install -tags "$BUILD_TAGS" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    "$module/cmd/prometheus@$PROMETHEUS_VERSION" "$module/cmd/promtool@$PROMETHEUS_VERSION" >&2
  if ! mv -T "$partial" "$dir" 2>/dev/null; then
    rm -rf "$partial" # another run finished the same build first
  fi
  log "built prometheus and promtool in $((SECONDS - started)) s"
fi
printf '%s\n' "$dir"
