"""`python -m loadplan` (arguments.py has the command's --help): finds the target, refuses
what cannot run before any load starts, runs the profile, and writes its report.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from loadplan.accounts import ensure_accounts, pool_file
from loadplan.api import Api, ApiError
from loadplan.arguments import SetupError, parse_args
from loadplan.discovery import find_target
from loadplan.evidence import record_run
from loadplan.faults import Faults
from loadplan.kube import CommandError
from loadplan.profiles import build_profile
from loadplan.running import run
from loadplan.summary import write_report
from results import describe_machine, started_now


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        profile = build_profile(args.profile, duration=args.duration, users=args.users)
    except ValueError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = (args.out / f"{args.stack or 'url'}-{profile.name}-{stamp}").resolve()
    with contextlib.ExitStack() as cleanup:
        try:
            target = find_target(args, cleanup)
            api = Api(target.api_url)
            cleanup.callback(api.close)
            faults = None
            if (cluster := target.cluster) is not None:
                faults = Faults(
                    cluster.kubectl, cluster.namespace, cluster.pulumi, report_dir / "pulumi.log"
                )
                for kind in args.fault:
                    if (reason := faults.refusal(kind)) is not None:
                        raise SetupError(f"--fault {kind}: {reason}")
            key = f"{args.stack}-{cluster.namespace}" if cluster else target.frontend_url
            accounts = ensure_accounts(api, pool_file(key), profile.peak_users)
        except (SetupError, ApiError, CommandError) as error:
            print(f"loadtest: {error}", file=sys.stderr)
            return 2
        report_dir.mkdir(parents=True)
        print(
            f"loadtest: {profile.name}, up to {profile.peak_users} users for "
            f"{profile.duration:g} s against {target.frontend_url} ({target.how}), "
            f"API {target.api_url}",
            flush=True,
        )
        # Read before the load: the load average is the machine's other work.
        machine, started = describe_machine(), started_now()
        load = run(args, profile, target, faults, api, accounts, report_dir, stamp)
        return write_report(
            args,
            profile,
            target,
            report_dir,
            load,
            lambda summary: record_run(summary, argv, machine, started),
        )
    return 2  # for the type checker: an ExitStack may swallow an exception
