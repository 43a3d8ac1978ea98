#!/usr/bin/env bash
# Lint, type-check and test the backend: the suite runs against a throwaway PostgreSQL
# cluster, then again against SQLite; then the load plan's tests (loadtest/tests), which need
# no server. Exits non-zero on any failure.
set -euo pipefail

backend_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_dir="$(cd "$backend_dir/../.." && pwd)"
venv="$(bash "$backend_dir/scripts/ensure-venv.sh" | tail -n 1)"
export PATH="$venv/bin:$PATH"
# The venv is shared by every checkout on the machine and its .pth names the last one that
# ran ensure-venv.sh: this checkout's sources go first.
export PYTHONPATH="$backend_dir/src${PYTHONPATH:+:$PYTHONPATH}"
cd "$backend_dir"

echo "== ruff"
ruff format --check --config pyproject.toml src tests "$repo_dir/loadtest"
ruff check --config pyproject.toml src tests "$repo_dir/loadtest"

echo "== mypy (strict)"
mypy src tests "$repo_dir/loadtest"

status=0
for database in postgres sqlite; do
  echo "== pytest against $database"
  TODO_TEST_DB="$database" python -m pytest -p no:cacheprovider "$@" || status=1
done

echo "== pytest of the load plan (loadtest/tests)"
PYTHONPATH="$repo_dir/loadtest:$PYTHONPATH" python -m pytest -p no:cacheprovider -c pyproject.toml \
  --rootdir "$repo_dir/loadtest" "$repo_dir/loadtest/tests" || status=1
exit "$status"
