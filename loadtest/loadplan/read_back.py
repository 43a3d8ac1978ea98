"""Reading every acknowledged write back through the API, after each fault and at the end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadplan import journal
from loadplan.accounts import Account
from loadplan.api import Api, ApiError


@dataclass(frozen=True)
class ReadBack:
    at: float
    checked: int
    lost: list[journal.Lost]
    duplicated: list[journal.Duplicated]

    def figures(self, started_at: float) -> dict[str, Any]:
        """As summary.json gives it, with the first 50 writes lost and duplicated."""
        return {
            "at_seconds": round(self.at - started_at, 2),
            "checked": self.checked,
            "lost": len(self.lost),
            "lost_examples": [
                {
                    "account": item.expected.account,
                    "id": item.expected.todo_id,
                    "title": item.expected.title,
                    "via": item.expected.channel,
                    "reason": item.reason,
                }
                for item in self.lost[:50]
            ],
            "duplicated": len(self.duplicated),
            "duplicated_examples": [
                {"account": item.account, "title": item.title, "copies": item.copies}
                for item in self.duplicated[:50]
            ],
        }


def read_back(api: Api, accounts: Sequence[Account], journal_file: Path) -> ReadBack:
    """Every acknowledged write, read back through the API (see journal.py for the races), and
    every todo of the accounts looked at for a second copy."""
    before = journal.parse(journal_file.read_text().splitlines(keepends=True))
    observed: dict[str, Sequence[journal.Observed]] = {}
    for account in accounts:
        token = api.log_in(account.email, account.password)
        if token is None:
            raise ApiError(f"{account.email} no longer logs in")
        observed[account.email] = api.all_todos(token)
    after = journal.parse(journal_file.read_text().splitlines(keepends=True))
    expected = journal.expected_todos(before, after)
    return ReadBack(
        time.time(),
        len(expected),
        journal.find_lost(expected, observed),
        journal.find_duplicated(observed),
    )
