#!/usr/bin/env bash
# helm and kubeconform for the chart's tests, built from the Go module proxy on first use into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/toolchain/<tool>-<version>/ and reused afterwards.
#   bash tools.sh helm          ensures helm, prints its path as the last line
#   bash tools.sh kubeconform   the same for kubeconform
#   bash tools.sh schemas       the Kubernetes JSON schemas laid out for kubeconform (a folder)
# run.sh sources it for the ensure_* functions and the version variables.
set -euo pipefail

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$tools_dir/versions.env"
cache_dir="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}"

log() { printf '[chart-tests] %s\n' "$*" >&2; }

# shellcheck source=../../../local-cluster/lib/go-build.sh
source "$tools_dir/../../../local-cluster/lib/go-build.sh"

# go_install_into LDFLAGS PACKAGE@VERSION FOLDER
go_install_into() { GOBIN="$3" nice -n 10 go install -ldflags "$1" "$2"; }

# Installs a Go command into $TOOLCHAIN_DIR/<name>-<version>/<name> unless already there (the
# shared Go build cache, local-cluster/lib/go-build.sh), and prints its path.
ensure_go_tool() {
  local name="$1" version="$2" package="$3" ldflags="$4"
  local dir="$TOOLCHAIN_DIR/$name-$version"
  cached_build chart-tests "$dir" "$name" go_install_into "$ldflags" "$package@$version"
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

# The tests' venv is keyed by the requirements and the interpreter.
venv_key() {
  (cat "$tools_dir/requirements.txt"; python3 --version) | sha256sum | cut -c1-12
}

# Builds the venv under a temporary name and renames it; its tools are run as `python -m`,
# which does not depend on its path. Prints its folder.
ensure_venv() {
  local venv_dir partial
  venv_dir="$cache_dir/chart-tests-venv-$(venv_key)"
  if [[ ! -x "$venv_dir/bin/python" ]]; then
    log "creating the test venv $venv_dir (once)"
    partial="$(mktemp -d "$venv_dir.partial.XXXXXX")"
    python3 -m venv "$partial"
    "$partial/bin/python" -m pip install --quiet --disable-pip-version-check -r "$tools_dir/requirements.txt" >&2
    if ! mv -T "$partial" "$venv_dir" 2>/dev/null; then
      rm -rf "$partial"
    fi
  fi
  printf '%s\n' "$venv_dir"
}

# Kubernetes JSON schemas laid out for kubeconform, keyed like the venv that ships them.
ensure_schemas() {
  local schema_dir partial venv_dir
  venv_dir="$(ensure_venv)"
  schema_dir="$cache_dir/k8s-schemas-v$KUBERNETES_VERSION-$(venv_key)"
  if [[ ! -d "$schema_dir" ]]; then
    partial="$(mktemp -d "$schema_dir.partial.XXXXXX")"
    "$venv_dir/bin/python" "$tools_dir/prepare_schemas.py" "$KUBERNETES_VERSION" "$partial" >&2
    if ! mv -T "$partial" "$schema_dir" 2>/dev/null; then
      rm -rf "$partial"
    fi
  fi
  printf '%s\n' "$schema_dir"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    helm) ensure_helm ;;
    kubeconform) ensure_kubeconform ;;
    schemas) ensure_schemas ;;
    *) log "usage: tools.sh helm|kubeconform|schemas"; exit 2 ;;
  esac
fi
