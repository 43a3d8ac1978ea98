#!/usr/bin/env bash
# helm and kubeconform for the chart's tests, built from the Go module proxy on first use into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain/<tool>-<version>/ and reused afterwards.
#   bash tools.sh helm          ensures helm, prints its path as the last line
#   bash tools.sh kubeconform   the same for kubeconform
# run.sh sources it for ensure_helm, ensure_kubeconform and the version variables.
set -euo pipefail

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$tools_dir/versions.env"
cache_dir="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}"
toolchain_dir="$cache_dir/toolchain"
mkdir -p "$toolchain_dir"

log() { printf '[chart-tests] %s\n' "$*" >&2; }

# Installs a Go command into $toolchain_dir/<name>-<version>/<name> unless already there, and
# prints its path. Built into a temporary folder and renamed, so an interrupted build never
# looks complete.
ensure_go_tool() {
  local name="$1" version="$2" package="$3" ldflags="$4"
  local dir="$toolchain_dir/$name-$version"
  if [[ ! -x "$dir/$name" ]]; then
    command -v go >/dev/null || { log "go is needed to build $name $version"; exit 1; }
    log "building $name $version from the Go module proxy (once; cached in $dir)"
    local started=$SECONDS partial
    partial="$(mktemp -d "$dir.partial.XXXXXX")"
    GOBIN="$partial" CGO_ENABLED=0 GOFLAGS=-trimpath nice -n 10 \
      go install -ldflags "$ldflags" "$package@$version" >&2
    if ! mv -T "$partial" "$dir" 2>/dev/null; then
      rm -rf "$partial" # another run finished the same build first
    fi
    log "built $name $version in $((SECONDS - started)) s"
  fi
  printf '%s\n' "$dir/$name"
}

ensure_helm() {
  # The Kubernetes version helm assumes without --kube-version, as in helm's own release builds.
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" package
  for package in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/$package.k8sVersionMajor=1 -X helm.sh/helm/v3/$package.k8sVersionMinor=$HELM_KUBERNETES_MINOR"
  done
  ensure_go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$ldflags"
}

ensure_kubeconform() {
  ensure_go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform "-s -w"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    helm) ensure_helm ;;
    kubeconform) ensure_kubeconform ;;
    *) log "usage: tools.sh helm|kubeconform"; exit 2 ;;
  esac
fi
