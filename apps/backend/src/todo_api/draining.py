"""Connection draining between the pod's preStop hook and SIGTERM.

A rolling update takes a pod out of its Service, runs its preStop hook, then sends SIGTERM.
Clients keep the keep-alive connections they already hold to that pod, and at SIGTERM the
server closes the idle ones: a request sent on one at that moment is lost before any answer.
The hook (`python -m todo_api drain`) leaves a marker in the temporary directory, shared by
every worker of the container; while it is there each response says `Connection: close`, so
the connections in use end after their answer, and the idle ones end on the client's side
(Node's fetch drops a connection idle for 4 s, less than the hook's pause).

The same middleware ends connections that are older than MAX_CONNECTION_AGE_SECONDS. The
backend's Service balances connections, not requests (kube-proxy picks a pod when a connection
opens), and the frontend's fetch keeps its connections alive as long as requests keep coming:
without an age limit, pods the autoscaler adds get only connections opened after they are
ready, and the pods that were there keep the load. An answer on an older connection says
`Connection: close`, and the client's next request opens a new connection to any ready pod.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What Kubernetes waits for in the hook before SIGTERM: long enough for the pod to leave the
# Service's endpoints everywhere and for idle client connections to time out.
DEFAULT_PAUSE_SECONDS = 5.0
# How long a kept-alive client connection serves requests before its next answer closes it.
MAX_CONNECTION_AGE_SECONDS = 30.0


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


class ConnectionCloseMiddleware:
    """Closes a connection after its answer while the draining marker exists, or once the
    connection is older than `max_age_seconds`. A connection is known by its client address
    and port (ASGI gives no other handle). Once per `max_age_seconds`, connections opened more
    than twice that long ago and not closed here are forgotten (their clients closed them), so
    the table holds the connections of the last three `max_age_seconds` at most."""

    def __init__(
        self,
        app: ASGIApp,
        max_age_seconds: float = MAX_CONNECTION_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.marker = marker()
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self.opened_at: dict[tuple[str, int], float] = {}
        self.swept_at = clock()

    def _too_old(self, client: tuple[str, int] | None) -> bool:
        if client is None:
            return False
        now = self.clock()
        if now - self.swept_at >= self.max_age_seconds:
            cutoff = now - 2 * self.max_age_seconds
            self.opened_at = {key: at for key, at in self.opened_at.items() if at > cutoff}
            self.swept_at = now
        opened = self.opened_at.setdefault(client, now)
        if now - opened < self.max_age_seconds:
            return False
        del self.opened_at[client]
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        too_old = self._too_old(None if client is None else (str(client[0]), int(client[1])))

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and (too_old or self.marker.exists()):
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, receive, send_closing)
