"""Command line: `python -m todo_api serve` (HTTP server), `python -m todo_api migrate`, or
`python -m todo_api drain` (the preStop hook: see todo_api.draining)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from todo_api.draining import DEFAULT_PAUSE_SECONDS, clear_marker, start_draining
from todo_api.observability import configure_logging, serve_metrics, uvicorn_log_config
from todo_api.settings import STATE_DIR_ENV, ConfigError, Settings, load_settings

# In-flight requests get this long to finish after SIGTERM (Kubernetes waits 30 s by default).
GRACEFUL_SHUTDOWN_SECONDS = 25


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="todo_api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server (workers from WEB_CONCURRENCY)")
    serve.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser("migrate", help="apply database migrations (safe to run concurrently)")
    drain = commands.add_parser("drain", help="close connections after each answer, then wait")
    drain.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_PAUSE_SECONDS,
        help=f"how long to wait (default {DEFAULT_PAUSE_SECONDS:g})",
    )
    return parser.parse_args(argv)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    clear_marker()
    workers = settings.web_concurrency
    # Worker processes read the same settings from the environment; keep them consistent.
    os.environ.setdefault("JWT_SECRET", settings.signing_secret)
    # Shared by the workers of this start only: whether the database was reached (see /ready).
    os.environ[STATE_DIR_ENV] = tempfile.mkdtemp(prefix="todo-api-state-")
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="todo-metrics-")
    if settings.metrics_port is not None:
        serve_metrics(host, settings.metrics_port)
    uvicorn.run(
        "todo_api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(settings.log_level),
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _early_log_level() -> str:
    """Level for messages logged while the settings load (they may be invalid)."""
    level = os.environ.get("LOG_LEVEL", "info").lower()
    return level if level in {"debug", "info", "warning", "error", "critical"} else "info"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.command == "drain":
        # Needs no settings: the hook runs beside a server that has them.
        start_draining(args.seconds)
        return 0
    configure_logging(_early_log_level())
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"todo_api: invalid configuration: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "migrate":
        from todo_api.migrations import upgrade_to_head

        try:
            upgrade_to_head(settings)
        except Exception as error:  # one clear line for the Job's log, not a traceback
            print(f"todo_api: migration failed: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        return 0
    if settings.metrics_port == args.port:
        print(
            f"todo_api: invalid configuration: METRICS_PORT {args.port} is the API's port"
            " (PORT, --port); accepted: any other port from 1 to 65535",
            file=sys.stderr,
        )
        return 2
    _serve(settings, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
