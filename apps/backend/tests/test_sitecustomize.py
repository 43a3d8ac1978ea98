"""The image's site hook (src/sitecustomize.py): a container's first process prints its user
first, any other Python process nothing."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parents[1] / "src" / "sitecustomize.py"


def test_the_first_process_prints_its_user(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "getpid", lambda: 1)
    runpy.run_path(str(HOOK))
    assert capsys.readouterr().out == f"uid={os.getuid()} euid={os.geteuid()}\n"


def test_python_loads_it_from_pythonpath_and_another_process_prints_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sitecustomize; print(sitecustomize.__file__)"],
        env={**os.environ, "PYTHONPATH": str(HOOK.parent)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == f"{HOOK}\n"
