"""Connection draining between the pod's preStop hook and SIGTERM.

A rolling update takes a pod out of its Service, runs its preStop hook, then sends SIGTERM.
Clients keep the keep-alive connections they already hold to that pod, and at SIGTERM the
server closes the idle ones: a request sent on one at that moment is lost before any answer.
The hook (`python -m todo_api drain`) leaves a marker in the temporary directory, shared by
every worker of the container; while it is there each response says `Connection: close`, so
the connections in use end after their answer, and the idle ones end on the client's side
(Node's fetch drops a connection idle for 4 s, less than the hook's pause).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What Kubernetes waits for in the hook before SIGTERM: long enough for the pod to leave the
# Service's endpoints everywhere and for idle client connections to time out.
DEFAULT_PAUSE_SECONDS = 5.0


def marker() -> Path:
    """The draining marker: in the temporary directory, which the pod mounts as an emptyDir."""
    return Path(tempfile.gettempdir()) / "todo-api-draining"


def start_draining(pause_seconds: float) -> None:
    """Marks the server as draining, then waits (the hook's pause)."""
    marker().touch()
    time.sleep(pause_seconds)


def clear_marker() -> None:
    """A container restarted in the same pod (the emptyDir outlives it) starts undrained."""
    marker().unlink(missing_ok=True)


class DrainingMiddleware:
    """Closes each connection after its answer while the draining marker exists."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.marker = marker()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.marker.exists():
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, receive, send_closing)
