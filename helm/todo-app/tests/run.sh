#!/usr/bin/env bash
# Chart tests: helm lint --strict, helm template + kubeconform (strict, offline schemas),
# contract checks of the rendered objects and refused bad values, with pytest.
# Builds helm and kubeconform from the Go module proxy and a Python venv into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s} on the first run; later runs reuse them.
set -euo pipefail

tests_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chart_dir="$(dirname "$tests_dir")"
# shellcheck source=versions.env
source "$tests_dir/versions.env"
cache_dir="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}"
toolchain_dir="$cache_dir/toolchain"
mkdir -p "$toolchain_dir"

log() { printf '[chart-tests] %s\n' "$*" >&2; }

# Installs a Go command into $toolchain_dir/<name>-<version>/<name> unless already there.
# Built into a temporary folder and renamed, so an interrupted build never looks complete.
ensure_go_tool() {
  local name="$1" version="$2" package="$3" ldflags="$4"
  local dir="$toolchain_dir/$name-$version"
  if [[ -x "$dir/$name" ]]; then
    return
  fi
  command -v go >/dev/null || { log "go is needed to build $name $version"; exit 1; }
  log "building $name $version from the Go module proxy (once; cached in $dir)"
  local started=$SECONDS partial
  partial="$(mktemp -d "$dir.partial.XXXXXX")"
  GOBIN="$partial" CGO_ENABLED=0 GOFLAGS=-trimpath nice -n 10 \
    go install -ldflags "$ldflags" "$package@$version"
  if ! mv -T "$partial" "$dir" 2>/dev/null; then
    rm -rf "$partial" # another run finished the same build first
  fi
  log "built $name $version in $((SECONDS - started)) s"
}

ensure_go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
  "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION $(
    for package in pkg/lint/rules pkg/chartutil; do
      printf -- '-X helm.sh/helm/v3/%s.k8sVersionMajor=1 -X helm.sh/helm/v3/%s.k8sVersionMinor=%s ' \
        "$package" "$package" "$HELM_KUBERNETES_MINOR"
    done)"
ensure_go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform "-s -w"

# The venv is keyed by the requirements and the interpreter. It is built under a temporary
# name and renamed; its tools are run as `python -m`, which does not depend on its path.
python_bin="$(command -v python3)"
venv_key="$( (cat "$tests_dir/requirements.txt"; "$python_bin" --version) | sha256sum | cut -c1-12)"
venv_dir="$cache_dir/chart-tests-venv-$venv_key"
if [[ ! -x "$venv_dir/bin/python" ]]; then
  log "creating the test venv $venv_dir (once)"
  partial="$(mktemp -d "$venv_dir.partial.XXXXXX")"
  "$python_bin" -m venv "$partial"
  "$partial/bin/python" -m pip install --quiet --disable-pip-version-check -r "$tests_dir/requirements.txt"
  if ! mv -T "$partial" "$venv_dir" 2>/dev/null; then
    rm -rf "$partial"
  fi
fi
python="$venv_dir/bin/python"

# Kubernetes JSON schemas laid out for kubeconform, keyed like the venv that ships them.
schema_dir="$cache_dir/k8s-schemas-v$KUBERNETES_VERSION-$venv_key"
if [[ ! -d "$schema_dir" ]]; then
  partial="$(mktemp -d "$schema_dir.partial.XXXXXX")"
  "$python" "$tests_dir/prepare_schemas.py" "$KUBERNETES_VERSION" "$partial" >&2
  if ! mv -T "$partial" "$schema_dir" 2>/dev/null; then
    rm -rf "$partial"
  fi
fi

log "type-checking the tests (mypy --strict)"
"$python" -m mypy --strict --cache-dir "$cache_dir/chart-tests-mypy-$venv_key" "$tests_dir"

export HELM_BIN="$toolchain_dir/helm-$HELM_VERSION/helm"
export KUBECONFORM_BIN="$toolchain_dir/kubeconform-$KUBECONFORM_VERSION/kubeconform"
export KUBERNETES_SCHEMA_DIR="$schema_dir"
export KUBERNETES_VERSION CHART_DIR="$chart_dir"
log "$("$HELM_BIN" version --short), kubeconform $KUBECONFORM_VERSION, Kubernetes $KUBERNETES_VERSION schemas"
cd "$tests_dir"
exec "$python" -m pytest -p no:cacheprovider -q "$@"
