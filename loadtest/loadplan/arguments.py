"""`npm run loadtest -- --stack dev --profile smoke|load|stress [--fault KIND]...`

Finds the deployed app from the stack's outputs, makes sure its accounts exist, runs Locust
(users.py) with the profile's steps while a sampler watches the cluster and faults are
injected one at a time, reads every acknowledged write back, and writes
loadtest/reports/<stack>-<profile>-<UTC time>/ (summary.json, report.html, locust.html).
Exit status: 0 when every gate passed, 1 when one failed, 2 when the run could not start.
The report folder's path is the last line printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from loadplan.faults import FAULT_KINDS
from loadplan.profiles import PROFILE_NAMES

LOADTEST_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = LOADTEST_DIR.parent


class SetupError(RuntimeError):
    """The run cannot start; the message says why and what to do."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="npm run loadtest --",
        # The module docstring is the command's --help.
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", required=True, choices=PROFILE_NAMES)
    parser.add_argument(
        "--stack", help="the Pulumi stack whose deployed app is loaded (reads its outputs)"
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=REPO_DIR,
        help="where the stack's Pulumi.yaml is (default: this checkout)",
    )
    parser.add_argument(
        "--context", help="kube context of the stack's cluster (default: kubectl's current)"
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: kubectl's)")
    parser.add_argument(
        "--url", help="the frontend's base URL: loopback, or an address the stack's outputs give"
    )
    parser.add_argument(
        "--api-url",
        help="the backend API's base URL on loopback (needed with --url alone; "
        "default with --stack: a port-forward)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=FAULT_KINDS,
        help="inject during the load (repeat for more, one at a time)",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds: shortens the profile (stress: the whole ramp)"
    )
    parser.add_argument(
        "--users", type=int, help="users: changes the profile's (stress: the top of the ramp)"
    )
    parser.add_argument(
        "--out", type=Path, default=LOADTEST_DIR / "reports", help="where report folders go"
    )
    args = parser.parse_args(argv)
    if args.stack is None and args.url is None:
        parser.error("give --stack (the deployed stack) or --url (an app on loopback)")
    if args.stack is None and args.fault:
        parser.error("faults act on the cluster: give --stack")
    if args.stack is None and args.api_url is None:
        parser.error(
            "with --url alone, give --api-url too: the writes are read back through the API"
        )
    return args
