#!/usr/bin/env bash
# Prometheus and promtool, built from the Go module proxy on first use into the shared cache
# (local-cluster/lib/go-build.sh) and reused afterwards; each prints the folder holding its binary
# as its last line. promtool tests the alert rules and checks the dashboard's queries
# (test/monitoring-rules.test.ts); the server is the e2e suite's Prometheus. Each step builds only
# what it runs; the second build reuses the packages the first compiled.
#   bash test/tools/prometheus.sh            ->  .../prometheus-v0.316.0-<tags>   (holds prometheus)
#   bash test/tools/prometheus.sh promtool   ->  .../promtool-v0.316.0            (holds promtool)
set -euo pipefail

# Prometheus 3.16.0: its Go module numbers 3.x.y as v0.3xx.y.
readonly PROMETHEUS_VERSION=v0.316.0
# Service discovery for Kubernetes only (plus file, HTTP and static, always in): the cloud
# providers' SDKs would double the build. No web UI assets (builtinassets): the API is enough.
readonly BUILD_TAGS=remove_all_sd,enable_kubernetes_sd
readonly MODULE=github.com/prometheus/prometheus

# shellcheck source=../../local-cluster/lib/go-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../local-cluster/lib/go-build.sh"

# `prometheus --version` names the release: v0.316.0 is 3.16.0.
IFS=. read -r _ minor patch <<<"${PROMETHEUS_VERSION#v}"
readonly RELEASE="3.$((minor - 300)).$patch"

# install COMMAND FOLDER: one command of the module into FOLDER.
install_command() {
  GOBIN="$2" nice -n 10 go install -tags "$BUILD_TAGS" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$RELEASE" "$MODULE/cmd/$1@$PROMETHEUS_VERSION"
}

case ${1:-prometheus} in
  prometheus)
    dir="$TOOLCHAIN_DIR/prometheus-$PROMETHEUS_VERSION-${BUILD_TAGS//,/-}"
    cached_build prometheus "$dir" prometheus install_command prometheus
    ;;
  promtool)
    dir="$TOOLCHAIN_DIR/promtool-$PROMETHEUS_VERSION"
    cached_build prometheus "$dir" promtool install_command promtool
    ;;
  *)
    echo "usage: prometheus.sh [prometheus|promtool]" >&2
    exit 2
    ;;
esac
printf '%s\n' "$dir"
