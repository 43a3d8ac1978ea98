"""Which addresses the load may go to, and the stack's outputs it reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest

from loadplan.target import OutputsError, StackOutputs, cluster_hosts, frontend_candidates, refusal

NODEPORT_OUTPUTS = {
    "namespace": "todo-app",
    "frontendUrl": "http://<node-ip>:30000",
    "stackEnvironment": "dev",
    "backendImage": "todo-backend:0123456789ab",
    "commands": {"portForward": "kubectl -n todo-app port-forward svc/frontend 3000:3000"},
}


def outputs(**changes: str) -> StackOutputs:
    return StackOutputs.parse(json.dumps({**NODEPORT_OUTPUTS, **changes}))


def resolver(table: dict[str, Sequence[str]]) -> Callable[[str], Sequence[str]]:
    return lambda host: table.get(host, [])


def test_reads_a_nodeport_stack() -> None:
    stack = outputs()
    assert (stack.namespace, stack.node_port, stack.ingress_host) == ("todo-app", 30000, None)


def test_reads_an_ingress_stack() -> None:
    stack = outputs(frontendUrl="https://todo.example.com")
    assert (stack.node_port, stack.ingress_host) == (None, "todo.example.com")


def test_a_port_forward_stack_has_neither() -> None:
    stack = outputs(frontendUrl="http://localhost:3000")
    assert (stack.node_port, stack.ingress_host) == (None, None)


def test_missing_outputs_are_named() -> None:
    with pytest.raises(OutputsError, match="namespace, frontendUrl"):
        StackOutputs.parse(json.dumps({"stackEnvironment": "dev", "frontendUrl": ""}))
    with pytest.raises(OutputsError, match="not JSON"):
        StackOutputs.parse("error: no stack named 'dev' found")


def test_loopback_is_always_a_target() -> None:
    for url in (
        "http://127.0.0.1:3000",
        "http://localhost:30000",
        "http://127.8.0.1",
        "http://[::1]:3000/",
    ):
        assert refusal(url, set()) is None, url


@pytest.mark.parametrize(
    "url",
    [
        "http://10.200.0.1:30000",
        "http://192.168.49.2:30000",
        "https://example.com",
        "http://0.0.0.0:3000",
    ],
)
def test_any_other_address_is_refused_without_the_stack_naming_it(url: str) -> None:
    reason = refusal(url, set())
    assert reason is not None
    assert "neither loopback nor an address the stack's outputs give" in reason


def test_the_node_of_a_nodeport_stack_is_a_target() -> None:
    allowed = cluster_hosts(outputs(), {"192.168.49.2"}, resolver({}))
    assert allowed == {"192.168.49.2"}
    assert refusal("http://192.168.49.2:30000", allowed) is None
    assert refusal("http://192.168.49.3:30000", allowed) is not None


def test_the_node_is_no_target_when_the_frontend_is_not_a_nodeport() -> None:
    allowed = cluster_hosts(
        outputs(frontendUrl="http://localhost:3000"), {"192.168.49.2"}, resolver({})
    )
    assert allowed == set()


def test_an_ingress_host_is_a_target_only_when_it_resolves_here() -> None:
    ingress = outputs(frontendUrl="https://todo.e2e.test:8444")
    assert cluster_hosts(ingress, set(), resolver({"todo.e2e.test": ["127.0.0.1"]})) == {
        "todo.e2e.test"
    }
    assert cluster_hosts(
        ingress, {"192.168.49.2"}, resolver({"todo.e2e.test": ["192.168.49.2"]})
    ) == {"todo.e2e.test"}
    public = resolver({"todo.e2e.test": ["127.0.0.1", "203.0.113.7"]})
    assert cluster_hosts(ingress, set(), public) == set()
    assert cluster_hosts(ingress, set(), resolver({})) == set()


def test_only_base_urls_are_taken() -> None:
    assert refusal("http://127.0.0.1:3000/todos", set()) is not None
    assert refusal("ftp://127.0.0.1", set()) is not None
    assert refusal("127.0.0.1:3000", set()) is not None


def test_a_nodeport_is_tried_on_loopback_first_then_on_the_node() -> None:
    assert frontend_candidates(outputs(), {"192.168.49.2"}) == [
        "http://127.0.0.1:30000",
        "http://192.168.49.2:30000",
    ]


def test_an_ingress_that_resolves_here_is_used_as_given() -> None:
    ingress = outputs(frontendUrl="https://todo.e2e.test:8444")
    assert frontend_candidates(ingress, {"todo.e2e.test"}) == ["https://todo.e2e.test:8444"]
    assert frontend_candidates(ingress, set()) == []
