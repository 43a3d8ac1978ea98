#!/usr/bin/env bash
# Backend benchmark: `bash loadtest/run.sh [target|smoke|load|stress|peak]` (default: target),
# the scaling benchmark: `bash loadtest/run.sh scale [--requests N]`, or the write-cost
# benchmark: `bash loadtest/run.sh writes [--baseline REVISION]`; they need the
# PostgreSQL server binaries (initdb, pg_ctl). Or the load plan against a deployed stack:
# `bash loadtest/run.sh plan --stack dev --profile smoke` (npm run loadtest). Every run is
# bounded in time.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo_dir/apps/backend/scripts/ensure-venv.sh" | tail -n 1)"
# The venv is shared by every checkout; this checkout's backend goes first (for the server too).
export PYTHONPATH="$repo_dir/apps/backend/src${PYTHONPATH:+:$PYTHONPATH}"
if [[ "${1:-}" == plan ]]; then
  shift
  export PYTHONPATH="$repo_dir/loadtest:$PYTHONPATH"
  exec "$venv/bin/python" -m loadplan "$@"
fi
if [[ "${1:-}" == writes ]]; then
  shift
  exec "$venv/bin/python" "$repo_dir/loadtest/writes.py" "$@"
fi
if [[ "${1:-}" == scale ]]; then
  shift
  exec "$venv/bin/python" "$repo_dir/loadtest/scale.py" "$@"
fi
exec "$venv/bin/python" "$repo_dir/loadtest/bench.py" "$@"
