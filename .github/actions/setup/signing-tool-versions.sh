#!/usr/bin/env bash
# Prints "cosign=vX.Y.Z" and "syft=vX.Y.Z": the versions of local-cluster/versions.env, the ones
# the offline toolchain builds and the end-to-end suite signs and verifies with, for step outputs.
set -euo pipefail
versions=$(dirname "${BASH_SOURCE[0]}")/../../../local-cluster/versions.env
for tool in cosign syft; do
  name=$(printf '%s' "$tool" | tr '[:lower:]' '[:upper:]')_VERSION
  version=$(sed -n "s/^${name}=\(v[0-9][0-9.]*\)$/\1/p" "$versions")
  if [ -z "$version" ] || [ "$(printf '%s\n' "$version" | wc -l)" -ne 1 ]; then
    echo "no single ${name}=vX.Y.Z line in $versions" >&2
    exit 1
  fi
  echo "$tool=$version"
done
