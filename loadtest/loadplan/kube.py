"""kubectl and pulumi, as the plan calls them.

kubectl rather than the `kubernetes` Python client: the plan needs `port-forward`, which the
client does only through a websocket API of its own, and kubectl resolves contexts,
kubeconfigs and credential plugins (minikube, cloud logins) exactly as the user's other
commands do. A sample every 5 s is three kubectl calls.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

COMMAND_TIMEOUT_SECONDS = 30.0


class CommandError(RuntimeError):
    """A kubectl or pulumi command failed; the message holds what it printed."""


def run_command(command: list[str], timeout: float, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(  # noqa: S603 (argument list, no shell)
            command, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"{' '.join(command)}: no answer within {timeout:g} s") from None
    except FileNotFoundError:
        # The project's own cluster has its CLIs in the toolchain (loadtest/README.md).
        raise CommandError(
            f"{command[0]} is not on PATH; with the project's own cluster, add "
            "~/.cache/todo-k8s/toolchain/bin to PATH"
        ) from None
    if done.returncode != 0:
        raise CommandError(f"{' '.join(command)}: {(done.stderr or done.stdout).strip()[-1500:]}")
    return done.stdout


@dataclass(frozen=True)
class Kubectl:
    context: str | None = None
    kubeconfig: str | None = None

    def command(self, *args: str) -> list[str]:
        chosen = [
            *(["--context", self.context] if self.context else []),
            *(["--kubeconfig", self.kubeconfig] if self.kubeconfig else []),
        ]
        return ["kubectl", *chosen, *args]

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
        return run_command(self.command(*args), timeout)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def raw(self, path: str) -> Any:
        return json.loads(self.run("get", "--raw", path))


def build_arg_in_state(state: dict[str, Any], image: str, name: str) -> str | None:
    """Build argument NAME of the docker-build Image named IMAGE in `pulumi stack export`'s
    STATE: what the running image was built from, whichever config file gave it."""
    for resource in state.get("deployment", {}).get("resources", []):
        if resource.get("type") == "docker-build:index:Image" and str(
            resource.get("urn", "")
        ).endswith(f"::{image}"):
            value = resource.get("inputs", {}).get("buildArgs", {}).get(name)
            if isinstance(value, str):
                return value
    return None


@dataclass(frozen=True)
class Pulumi:
    stack: str
    project_dir: Path

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS * 4) -> str:
        return run_command(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"], timeout, self.project_dir
        )

    def outputs_json(self) -> str:
        return self.run("stack", "output", "--json")

    def deployed_build_arg(self, image: str, name: str) -> str:
        """Build argument NAME of the stack's image resource IMAGE as last deployed."""
        found = build_arg_in_state(json.loads(self.run("stack", "export")), image, name)
        if found is None:
            raise CommandError(
                f"stack {self.stack} has no image {image!r} with build argument {name} in its state"
            )
        return found

    @property
    def stack_file(self) -> Path:
        return self.project_dir / f"Pulumi.{self.stack}.yaml"

    @property
    def has_main_job(self) -> bool:
        """Whether the project is this one, with its `npm run up:dev` (package.json's scripts:
        they stay where they are when the files behind them move)."""
        try:
            manifest = json.loads((self.project_dir / "package.json").read_text())
        except (OSError, ValueError):
            return False
        return "up:dev" in manifest.get("scripts", {})

    def deploy_command(self, settings: dict[str, str], kube_context: str | None) -> list[str]:
        """How this stack is deployed, with SETTINGS for this once. The dev stack goes through
        the main job (`npm run up:dev`): it points Docker at Minikube, or builds into the
        project's own cluster and loads the images onto its node, which a bare `pulumi up`
        does not. Other stacks push their images to a registry: `pulumi up`."""
        config = [
            argument
            for key, value in settings.items()
            for argument in ("--config", f"{key}={value}")
        ]
        if self.stack == "dev" and self.has_main_job:
            context = ["--context", kube_context] if kube_context else []
            return [
                "npm",
                "run",
                "up:dev",
                "--",
                *context,
                "--yes",
                "--skip-preview",
                *config,
            ]
        return [
            "pulumi",
            "up",
            "--yes",
            "--skip-preview",
            "--stack",
            self.stack,
            "--non-interactive",
            "--color",
            "never",
            *config,
        ]

    def deploy(
        self,
        settings: dict[str, str],
        kube_context: str | None,
        log: Path,
        timeout: float,
    ) -> None:
        """Runs `deploy_command`, its output into LOG; raises when it fails."""
        command = self.deploy_command(settings, kube_context)
        with log.open("a") as output:
            output.write(f"$ {' '.join(command)}\n")
            output.flush()
            try:
                done = subprocess.run(  # noqa: S603 (argument list, no shell)
                    command,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    cwd=self.project_dir,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise CommandError(
                    f"{' '.join(command[:3])}: not done within {timeout:g} s (see {log.name})"
                ) from None
        if done.returncode != 0:
            raise CommandError(
                f"{' '.join(command[:3])} exited with {done.returncode} (see {log.name})"
            )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PortForward:
    """`kubectl port-forward` to a Service on 127.0.0.1, reopened whenever it ends.

    A forward is tied to the one pod it picked: when that pod goes (a fault, a rollout),
    kubectl stops, and this reopens it on the same local port, so the users' URL stays good.
    Every reopen is counted: the time it takes is part of any gap the report shows for
    traffic through it.
    """

    kubectl: Kubectl
    namespace: str
    service: str
    remote_port: int
    health_path: str
    local_port: int = field(default_factory=free_port)
    reopened: int = 0
    _process: subprocess.Popen[bytes] | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def open(self, ready_within: float = 60.0) -> PortForward:
        self._thread = threading.Thread(
            target=self._keep_open, name=f"port-forward {self.service}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + self.health_path, timeout=3).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.close()
        raise CommandError(
            f"port-forward to service/{self.service}: {self.health_path} did not answer "
            f"within {ready_within:g} s"
        )

    def _keep_open(self) -> None:
        command = self.kubectl.command(
            "-n",
            self.namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            f"service/{self.service}",
            f"{self.local_port}:{self.remote_port}",
        )
        started = 0
        while True:
            # Started under the lock close() takes: no forward can outlive close().
            with self._lock:
                if self._stopping.is_set():
                    return
                process = subprocess.Popen(  # noqa: S603 (argument list, no shell)
                    command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                self._process = process
            self.reopened = started
            started += 1
            process.wait()
            self._stopping.wait(0.5)

    def close(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self._thread is not None:
            self._thread.join(timeout=15)
