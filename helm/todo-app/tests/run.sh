#!/usr/bin/env bash
# Chart tests: helm lint --strict, helm template + kubeconform (strict, offline schemas),
# contract checks of the rendered objects and refused bad values, with pytest.
# Builds helm and kubeconform from the Go module proxy and a Python venv into
# ${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s} on the first run; later runs reuse them.
set -euo pipefail

tests_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chart_dir="$(dirname "$tests_dir")"
# shellcheck source=tools.sh
source "$tests_dir/tools.sh"
helm_bin="$(ensure_helm)"
kubeconform_bin="$(ensure_kubeconform)"

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

export HELM_BIN="$helm_bin" KUBECONFORM_BIN="$kubeconform_bin"
export KUBERNETES_SCHEMA_DIR="$schema_dir"
export KUBERNETES_VERSION CHART_DIR="$chart_dir"
log "$("$HELM_BIN" version --short), kubeconform $KUBECONFORM_VERSION, Kubernetes $KUBERNETES_VERSION schemas"
cd "$tests_dir"
exec "$python" -m pytest -p no:cacheprovider -q "$@"
