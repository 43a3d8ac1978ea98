#!/usr/bin/env bash
# Frontend benchmark (see bench/run.ts): standalone size, image sizes (multi- vs single-stage,
# when Docker and the todo-base/node:24 stand-in are present), and p95 time to first byte of
# the list page under 50 users on 127.0.0.1. Figures go to apps/frontend/bench-results/.
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$app_dir"
export npm_config_cache="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}/npm"
export NEXT_TELEMETRY_DISABLED=1

lock_hash="$(sha256sum package-lock.json | cut -c1-16)"
if [[ ! -f "node_modules/.installed-from-lock-$lock_hash" ]]; then
  npm ci --no-audit --no-fund
  touch "node_modules/.installed-from-lock-$lock_hash"
fi
nice -n 10 npm run build
BACKEND_VENV="$(bash ../backend/scripts/ensure-venv.sh | tail -n 1)"
export BACKEND_VENV
npx tsx bench/run.ts
