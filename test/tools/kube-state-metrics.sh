#!/usr/bin/env bash
# kube-state-metrics, built from the Go module proxy on first use into the shared cache
# (local-cluster/lib/go-build.sh) and reused afterwards; prints that folder as its last line. The
# e2e suite's dev path runs it beside its Prometheus (e2e/support/monitoring.ts), for the
# dashboard's replica panel and the containers' limits (kube_* series, as kube-prometheus-stack's
# kube-state-metrics serves them). The folder also holds `.build-seconds`: the wall seconds the
# build took.
#   bash test/tools/kube-state-metrics.sh   ->  .../kube-state-metrics-v2.20.0   (holds kube-state-metrics)
set -euo pipefail

# The newest release the Go module proxy serves (its go.mod asks for Go 1.26.0). The module has
# no replace lines, so `go install` builds it as it is.
readonly KSM_VERSION=v2.20.0

# shellcheck source=../../local-cluster/lib/go-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../local-cluster/lib/go-build.sh"

# `kube-state-metrics version` names the release, as the project's Makefile sets it.
install_kube_state_metrics() {
  GOBIN="$1" nice -n 10 go install \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$KSM_VERSION" \
    "k8s.io/kube-state-metrics/v2@$KSM_VERSION"
}

dir="$TOOLCHAIN_DIR/kube-state-metrics-$KSM_VERSION"
cached_build kube-state-metrics "$dir" kube-state-metrics install_kube_state_metrics
printf '%s\n' "$dir"
