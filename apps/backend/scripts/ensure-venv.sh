#!/usr/bin/env bash
# Creates (or reuses) the backend's virtualenv with runtime, test and benchmark dependencies.
# The venv lives outside the clone, keyed by the lock file and Python version, so a warm run
# installs nothing. The last line of stdout is the venv's absolute path.
set -euo pipefail

backend_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${PYTHON:-python3}"

if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "ensure-venv: $python_bin is older than Python 3.11" >&2
  exit 1
fi

py_version="$("$python_bin" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
lock_hash="$(sha256sum <"$backend_dir/requirements-dev.lock" | cut -c1-16)"
cache_root="${TODO_CACHE_DIR:-$HOME/.cache/todo-k8s}"
venv_dir="$cache_root/backend-venv-py${py_version}-${lock_hash}"
mkdir -p "$cache_root"

# One installer at a time per venv; the marker file says the install finished.
exec 9>"$venv_dir.lock"
flock 9
if [[ ! -f "$venv_dir/.complete" ]]; then
  rm -rf "$venv_dir"
  echo "ensure-venv: creating $venv_dir" >&2
  "$python_bin" -m venv "$venv_dir"
  "$venv_dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==26.3" >&2
  "$venv_dir/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-hashes --no-deps -r "$backend_dir/requirements-dev.lock" >&2
  touch "$venv_dir/.complete"
fi

# The package is imported from this checkout's sources (no copy in the cached venv).
site_packages="$("$venv_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$backend_dir/src" > "$site_packages/todo_api_src.pth"
flock -u 9

echo "$venv_dir"
