"""Finding the app to load: the stack's outputs and cluster, which of the addresses they lead
to answers, and the port-forwards when none does (target.py holds the rules, without I/O).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from loadplan.arguments import SetupError
from loadplan.kube import CommandError, Kubectl, PortForward, Pulumi
from loadplan.sampler import cpu_millicores
from loadplan.target import (
    OutputsError,
    StackOutputs,
    cluster_hosts,
    frontend_candidates,
    refusal,
)

FRONTEND_PORT = 3000
BACKEND_PORT = 8000


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except socket.gaierror:
        return []


def _local_addresses() -> set[str]:
    return {
        address.address for addresses in psutil.net_if_addrs().values() for address in addresses
    }


@dataclass
class Cluster:
    """The stack's cluster, when there is one (--stack)."""

    kubectl: Kubectl
    pulumi: Pulumi
    namespace: str
    node_cpu_capacity: dict[str, float]
    node_is_this_machine: bool


@dataclass
class Target:
    frontend_url: str
    api_url: str
    how: str
    cluster: Cluster | None = None
    forwards: list[PortForward] = field(default_factory=list)


def find_target(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> Target:
    if args.api_url is not None and (reason := refusal(args.api_url, ())) is not None:
        raise SetupError(f"--api-url refused: {reason}")
    if args.stack is None:
        if (reason := refusal(args.url, ())) is not None:
            raise SetupError(f"--url refused: {reason}")
        return Target(args.url.rstrip("/"), args.api_url.rstrip("/"), "given (--url)")
    pulumi = Pulumi(args.stack, args.project_dir.resolve())
    kubectl = Kubectl(args.context, args.kubeconfig)
    try:
        outputs = StackOutputs.parse(pulumi.outputs_json())
        nodes = kubectl.json("get", "nodes")["items"]
    except (CommandError, OutputsError) as error:
        raise SetupError(str(error)) from None
    node_addresses = {
        address["address"]
        for node in nodes
        for address in node.get("status", {}).get("addresses", [])
        if address["type"] == "InternalIP"
    }
    cluster = Cluster(
        kubectl,
        pulumi,
        outputs.namespace,
        {
            node["metadata"]["name"]: cpu_millicores(node["status"]["allocatable"]["cpu"])
            for node in nodes
        },
        bool(node_addresses & _local_addresses()),
    )
    target = Target("", "", "", cluster)
    allowed = cluster_hosts(outputs, node_addresses, _resolve)
    if args.url is not None:
        if (reason := refusal(args.url, allowed)) is not None:
            raise SetupError(f"--url refused: {reason}")
        target.frontend_url, target.how = args.url.rstrip("/"), "given (--url)"
    else:
        for candidate in frontend_candidates(outputs, allowed):
            if _answers(f"{candidate}/api/health"):
                target.frontend_url = candidate
                target.how = "ingress" if outputs.ingress_host else "NodePort"
                break
        else:
            forward = cleanup.enter_context(
                _forward(kubectl, outputs.namespace, "frontend", FRONTEND_PORT, "/api/health")
            )
            target.forwards.append(forward)
            target.frontend_url, target.how = forward.url, "kubectl port-forward service/frontend"
    if args.api_url is not None:
        target.api_url = args.api_url.rstrip("/")
    else:
        forward = cleanup.enter_context(
            _forward(kubectl, outputs.namespace, "backend", BACKEND_PORT, "/health")
        )
        target.forwards.append(forward)
        target.api_url = forward.url
    return target


@contextlib.contextmanager
def _forward(kubectl: Kubectl, namespace: str, service: str, port: int, health: str) -> Any:
    try:
        forward = PortForward(kubectl, namespace, service, port, health).open()
    except CommandError as error:
        raise SetupError(str(error)) from None
    try:
        yield forward
    finally:
        forward.close()
