"""The writes the simulated people made, and what reading them back must find.

users.py appends one JSON line per event to the journal: a create the app acknowledged (2xx,
or a "saved" server action), and for a complete or a delete one line before it is sent
(`*-sent`) and one once it is acknowledged. Lost = acknowledged but missing or changed.

Reading back while people keep working races with them: a delete sent just before the read
makes a todo vanish. So a read-back takes the journal twice, before and after reading the
todos; what was acknowledged in the first counts, and what was sent by the second may explain
a difference (`expected_todos`).

Every create names its todo uniquely (users.py), and a resend of an action carries the same
key: a title found more than once in an account is an action that took effect twice
(`find_duplicated`), whatever was acknowledged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

Operation = Literal["create", "complete-sent", "complete", "delete-sent", "delete"]
OPERATIONS: tuple[Operation, ...] = ("create", "complete-sent", "complete", "delete-sent", "delete")


@dataclass(frozen=True)
class Entry:
    operation: Operation
    at: float
    account: str
    todo_id: int | None
    """None for a create through the frontend whose answer did not show the new id."""
    title: str = ""
    description: str | None = None
    channel: str = ""


def append(file: TextIO, entry: Entry) -> None:
    record = {
        "op": entry.operation,
        "at": round(entry.at, 3),
        "account": entry.account,
        "id": entry.todo_id,
    }
    if entry.operation == "create":
        record |= {"title": entry.title, "description": entry.description, "via": entry.channel}
    file.write(json.dumps(record) + "\n")
    file.flush()


def parse(lines: Iterable[str]) -> list[Entry]:
    entries: list[Entry] = []
    for line in lines:
        if not line.endswith("\n"):
            break  # a line still being written: the next read-back sees it whole
        record = json.loads(line)
        operation = record["op"]
        if operation not in OPERATIONS:
            raise ValueError(f"unknown journal operation {operation!r}")
        raw_id = record["id"]
        entries.append(
            Entry(
                operation=operation,
                at=float(record["at"]),
                account=str(record["account"]),
                todo_id=None if raw_id is None else int(raw_id),
                title=str(record.get("title", "")),
                description=record.get("description"),
                channel=str(record.get("via", "")),
            )
        )
    return entries


@dataclass(frozen=True)
class Expected:
    account: str
    todo_id: int | None
    title: str
    description: str | None
    completed: bool | None
    """None: a completion was sent but not acknowledged, so either state is right."""
    channel: str
    acknowledged_at: float


def expected_todos(acknowledged: Sequence[Entry], sent_since: Sequence[Entry]) -> list[Expected]:
    """The todos a read-back must find: creates in `acknowledged` (the journal before the read)
    that no delete in either journal touched. `sent_since` is the journal after the read."""
    deleted = {
        (entry.account, entry.todo_id)
        for entry in (*acknowledged, *sent_since)
        if entry.operation in ("delete-sent", "delete")
    }
    completed = {(e.account, e.todo_id) for e in acknowledged if e.operation == "complete"}
    completing = {
        (e.account, e.todo_id)
        for e in (*acknowledged, *sent_since)
        if e.operation == "complete-sent"
    }
    expected: list[Expected] = []
    for entry in acknowledged:
        if entry.operation != "create":
            continue
        key = (entry.account, entry.todo_id)
        if entry.todo_id is not None and key in deleted:
            continue
        state: bool | None = False
        if key in completed:
            state = True
        elif key in completing:
            state = None
        expected.append(
            Expected(
                entry.account,
                entry.todo_id,
                entry.title,
                entry.description,
                state,
                entry.channel,
                entry.at,
            )
        )
    return expected


@dataclass(frozen=True)
class Observed:
    todo_id: int
    title: str
    description: str | None
    completed: bool


@dataclass(frozen=True)
class Lost:
    expected: Expected
    reason: str


def find_lost(
    expected: Sequence[Expected], observed: Mapping[str, Sequence[Observed]]
) -> list[Lost]:
    """Each expected todo, looked up by id (or by its unique title when the id is unknown) in
    what the API listed for its account."""
    lost: list[Lost] = []
    index = {
        account: ({todo.todo_id: todo for todo in todos}, {todo.title: todo for todo in todos})
        for account, todos in observed.items()
    }
    for item in expected:
        by_id, by_title = index.get(item.account, ({}, {}))
        found = by_id.get(item.todo_id) if item.todo_id is not None else by_title.get(item.title)
        if found is None:
            lost.append(Lost(item, "missing"))
            continue
        changes = [
            name
            for name, same in (
                ("title", found.title == item.title),
                ("description", found.description == item.description),
                ("completed", item.completed is None or found.completed == item.completed),
            )
            if not same
        ]
        if changes:
            lost.append(Lost(item, "changed: " + ", ".join(changes)))
    return lost


@dataclass(frozen=True)
class Duplicated:
    account: str
    title: str
    copies: int


def find_duplicated(observed: Mapping[str, Sequence[Observed]]) -> list[Duplicated]:
    """Every title listed more than once in one account: one action applied twice."""
    return [
        Duplicated(account, title, copies)
        for account, todos in observed.items()
        for title, copies in Counter(todo.title for todo in todos).items()
        if copies > 1
    ]
