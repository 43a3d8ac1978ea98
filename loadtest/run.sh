#!/usr/bin/env bash
# Backend benchmark: `bash loadtest/run.sh [target|smoke|load|stress]` (default: target).
# Needs the PostgreSQL server binaries (initdb, pg_ctl); every run is bounded in time.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo_dir/apps/backend/scripts/ensure-venv.sh" | tail -n 1)"
exec "$venv/bin/python" "$repo_dir/loadtest/bench.py" "$@"
