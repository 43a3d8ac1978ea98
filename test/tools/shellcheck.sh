#!/usr/bin/env bash
# Lints every shell script of the project (*.sh, and the files whose first line runs bash) with
# ShellCheck, each from its own folder so that the files it sources are followed (-x).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v shellcheck >/dev/null || {
  echo "shellcheck is needed: apt-get install shellcheck (or https://www.shellcheck.net)" >&2
  exit 1
}
cd "$root"
scripts=()
while IFS= read -r -d '' file; do
  [[ -f $file ]] || continue
  if [[ $file == *.sh ]] || head -n 1 "$file" | grep -q '^#!.*\bbash\b'; then scripts+=("$file"); fi
done < <(git ls-files -z --cached --others --exclude-standard)
status=0
for file in "${scripts[@]}"; do
  (cd "$(dirname "$file")" && shellcheck -x "$(basename "$file")") || status=1
done
echo "shellcheck: ${#scripts[@]} scripts, $([[ $status == 0 ]] && echo clean || echo 'findings above')"
exit "$status"
