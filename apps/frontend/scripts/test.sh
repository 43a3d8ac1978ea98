#!/usr/bin/env bash
# Frontend checks: ESLint, TypeScript, unit and component tests (Vitest), the production
# build, then browser tests (Playwright + Debian's Chromium) against the production build,
# the real backend and a throwaway PostgreSQL, all on 127.0.0.1.
set -euo pipefail

app_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$app_dir"
cache_root="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}"
export npm_config_cache="$cache_root/npm"
export NEXT_TELEMETRY_DISABLED=1
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

step() { printf '\n== frontend: %s ==\n' "$*"; }

# Fail early, with the fix, when a machine package is missing; nothing is skipped.
if [[ ! -x "$chromium" ]]; then
  echo "frontend tests need Chromium at $chromium: apt-get install -y chromium" >&2
  exit 1
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && [[ -z "${PG_BIN_DIR:-}" ]]; then
  echo "frontend tests need the PostgreSQL server binaries: apt-get install -y postgresql" >&2
  exit 1
fi

# node_modules is reinstalled only when the lockfile changed since the last `npm ci`.
lock_hash="$(sha256sum package-lock.json | cut -c1-16)"
stamp="node_modules/.installed-from-lock-$lock_hash"
if [[ ! -f "$stamp" ]]; then
  step "npm ci"
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

step "eslint"
npx eslint --max-warnings=0 .

step "unit and component tests (vitest)"
# Plain text, so CI logs show the runner's summary line as written.
NO_COLOR=1 npx vitest run

step "production build (next build, standalone)"
npm run build

step "typescript (tsc --noEmit, strict)"
npx tsc --noEmit

step "backend virtualenv"
BACKEND_VENV="$(bash ../backend/scripts/ensure-venv.sh | tail -n 1)"
export BACKEND_VENV

step "browser tests (playwright, chromium, real backend + postgres)"
rm -rf test-results/servers
npx playwright test
echo "screenshots of the main screens: $app_dir/test-results/screens"
