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

python="$(ensure_venv)/bin/python"
schema_dir="$(ensure_schemas)"

log "type-checking the tests (mypy --strict)"
"$python" -m mypy --strict --cache-dir "$cache_dir/chart-tests-mypy-$(venv_key)" "$tests_dir"

export HELM_BIN="$helm_bin" KUBECONFORM_BIN="$kubeconform_bin"
export KUBERNETES_SCHEMA_DIR="$schema_dir"
export KUBERNETES_VERSION CHART_DIR="$chart_dir"
log "$("$HELM_BIN" version --short), kubeconform $KUBECONFORM_VERSION, Kubernetes $KUBERNETES_VERSION schemas"
cd "$tests_dir"
exec "$python" -m pytest -p no:cacheprovider -q "$@"
