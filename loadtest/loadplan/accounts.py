"""The accounts the simulated people log in with, kept between runs.

The backend lets one address sign up 20 accounts an hour (SIGNUP_ADDRESS_ATTEMPTS), and all
of this machine's traffic is one address. So the plan keeps a small pool per target in the
cache folder (mode 0600), logs in to each account before the run, and signs up only the
ones that do not exist there yet (a new stack, a fresh database). People share the pool's
accounts, as one person's phone and laptop share theirs; each only touches its own todos.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from loadplan.api import Api

MAX_ACCOUNTS = 10


@dataclass(frozen=True)
class Account:
    email: str
    password: str


def pool_file(key: str) -> Path:
    cache = Path(os.environ.get("TODO_CACHE_DIR") or Path.home() / ".cache" / "todo-k8s")
    return cache / "loadplan" / f"accounts-{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)}.json"


def _save(path: Path, accounts: list[Account]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(
        json.dumps([{"email": a.email, "password": a.password} for a in accounts], indent=2)
    )
    temporary.replace(path)


def ensure_accounts(api: Api, path: Path, count: int) -> list[Account]:
    """`count` accounts (at most MAX_ACCOUNTS) that log in now."""
    wanted = min(count, MAX_ACCOUNTS)
    known = [Account(**item) for item in json.loads(path.read_text())] if path.exists() else []
    while len(known) < wanted:
        known.append(
            Account(f"loadplan-{secrets.token_hex(6)}@example.com", secrets.token_urlsafe(18))
        )
    _save(path, known)
    for account in known[:wanted]:
        if api.log_in(account.email, account.password) is None:
            api.sign_up(account.email, account.password)
    return known[:wanted]
