#!/usr/bin/env bash
# Prints "version=X.Y.Z": the Pulumi CLI version of local-cluster/versions.env (PULUMI_VERSION),
# the one the offline engine builds and the end-to-end suite runs, for a GitHub step output.
set -euo pipefail
versions=$(dirname "${BASH_SOURCE[0]}")/../../../local-cluster/versions.env
version=$(sed -n 's/^PULUMI_VERSION=v\{0,1\}\([0-9][0-9.]*\)$/\1/p' "$versions")
if [ -z "$version" ] || [ "$(printf '%s\n' "$version" | wc -l)" -ne 1 ]; then
  echo "no single PULUMI_VERSION=vX.Y.Z line in $versions" >&2
  exit 1
fi
echo "version=$version"
