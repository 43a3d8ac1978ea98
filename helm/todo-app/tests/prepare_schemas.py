"""Lays out the Kubernetes JSON schemas of kubernetes-validate for kubeconform.

kubernetes-validate ships strict schemas whose `$ref`s point at an absolute URL
(https://kubernetes.io/api/_definitions.json). kubeconform would fetch it, and this machine
has no such network. Dropping each file's `$id` and making the reference relative lets the
validator resolve every definition from the local `_definitions.json` instead.

Usage: python prepare_schemas.py KUBERNETES_VERSION TARGET_DIR
Writes TARGET_DIR/v<version>-standalone-strict/<kind>-<group>-<version>.json.
"""

import json
import sys
from importlib import resources
from pathlib import Path

ABSOLUTE_DEFINITIONS = '"/api/_definitions.json#'
RELATIVE_DEFINITIONS = '"_definitions.json#'


def prepare(kubernetes_version: str, target: Path) -> int:
    source = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{kubernetes_version}-local-strict"
    if not source.is_dir():
        raise SystemExit(f"kubernetes-validate ships no strict schemas for Kubernetes {kubernetes_version}")
    out_dir = target / f"v{kubernetes_version}-standalone-strict"
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in source.iterdir():
        if not entry.name.endswith(".json"):
            continue
        schema = json.loads(entry.read_text(encoding="utf-8").replace(ABSOLUTE_DEFINITIONS, RELATIVE_DEFINITIONS))
        schema.pop("$id", None)
        (out_dir / entry.name).write_text(json.dumps(schema), encoding="utf-8")
        count += 1
    return count


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    written = prepare(sys.argv[1], Path(sys.argv[2]))
    print(f"prepared {written} schema files for Kubernetes {sys.argv[1]} in {sys.argv[2]}")
