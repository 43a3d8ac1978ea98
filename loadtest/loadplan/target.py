"""Where the deployed app answers, and which addresses the load may go to.

Traffic goes only to this machine's loopback or to an address the stack's outputs lead to:
its node's address when the frontend is a NodePort (`http://<node-ip>:30000`), its Ingress host
when that name resolves to loopback or the node. Anything else is refused before a request.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

NODE_IP_PLACEHOLDER = "<node-ip>"


class OutputsError(ValueError):
    """The stack's outputs lack what the plan needs."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class StackOutputs:
    """The outputs of index.ts the plan reads."""

    namespace: str
    frontend_url: str

    @staticmethod
    def parse(text: str) -> StackOutputs:
        """`pulumi stack output --json` of a deployed stack."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise OutputsError(f"the stack's outputs are not JSON: {error}") from None
        if not isinstance(raw, dict):
            raise OutputsError("the stack's outputs are not an object")
        missing = [
            key
            for key in ("namespace", "frontendUrl")
            if not isinstance(raw.get(key), str) or not raw[key]
        ]
        if missing:
            raise OutputsError(
                "the stack has no output "
                + ", ".join(missing)
                + " (is it deployed? `pulumi up` first)"
            )
        return StackOutputs(raw["namespace"], raw["frontendUrl"])

    @property
    def frontend_host(self) -> str:
        # The NodePort form holds a placeholder that urlsplit would not take as a host.
        parts = urlsplit(self.frontend_url.replace(NODE_IP_PLACEHOLDER, "node-ip"))
        return NODE_IP_PLACEHOLDER if parts.hostname == "node-ip" else (parts.hostname or "")

    @property
    def node_port(self) -> int | None:
        """The frontend's NodePort, when the stack exposes it so."""
        if self.frontend_host != NODE_IP_PLACEHOLDER:
            return None
        return urlsplit(self.frontend_url.replace(NODE_IP_PLACEHOLDER, "node-ip")).port

    @property
    def ingress_host(self) -> str | None:
        host = self.frontend_host
        return None if host in (NODE_IP_PLACEHOLDER, "") or is_loopback(host) else host


def cluster_hosts(
    outputs: StackOutputs,
    node_addresses: Collection[str],
    resolve: Callable[[str], Sequence[str]],
) -> set[str]:
    """The non-loopback hosts the stack's outputs lead to: the node's addresses for a NodePort,
    the Ingress host when every address it resolves to is loopback or the node's."""
    hosts: set[str] = set()
    if outputs.node_port is not None:
        hosts.update(node_addresses)
    host = outputs.ingress_host
    if host is not None:
        addresses = resolve(host)
        if addresses and all(is_loopback(a) or a in node_addresses for a in addresses):
            hosts.add(host)
    return hosts


def refusal(url: str, allowed_hosts: Collection[str]) -> str | None:
    """Why the load must not go to `url`, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{url!r} must be a base URL (scheme, host, port), with no path or query"
    host = parts.hostname
    if is_loopback(host) or host in allowed_hosts:
        return None
    allowed = ", ".join(sorted(allowed_hosts)) or "none"
    return (
        f"{host} is neither loopback nor an address the stack's outputs give "
        f"(the node's for a NodePort, the Ingress host when it resolves here: {allowed})"
    )


def frontend_candidates(outputs: StackOutputs, allowed_hosts: Collection[str]) -> list[str]:
    """Base URLs to try in order; none means a port-forward to the frontend Service."""
    if outputs.ingress_host is not None and outputs.ingress_host in allowed_hosts:
        return [outputs.frontend_url.rstrip("/")]
    port = outputs.node_port
    if port is None:
        return []
    # A NodePort often answers on loopback too (kube-proxy's nodePortAddresses): no route
    # through the node's network is needed then.
    nodes = sorted(host for host in allowed_hosts if host != outputs.ingress_host)
    return [f"http://127.0.0.1:{port}", *(f"http://{host}:{port}" for host in nodes)]
