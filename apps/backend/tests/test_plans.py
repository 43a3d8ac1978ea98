"""PostgreSQL reads a page's worth of rows for any page, whatever other users hold."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from conftest import DatabaseFactory, settings_from
from todo_api.migrations import upgrade_to_head
from todo_api.pgstore import listing_sql
from todo_api.store import PageStart, page_query

PAGE_ROWS = 21  # a page of 20 and the row that tells whether there is more


@pytest.fixture(scope="module")
def crowded(database_factory: DatabaseFactory) -> Iterator[Connection]:
    """Someone with 20,000 todos, and someone newer with 50 (a fifth done)."""
    settings = settings_from(database_factory.make())
    if settings.is_sqlite:
        pytest.skip("query plans are PostgreSQL's")
    upgrade_to_head(settings)
    engine = create_engine(settings.sync_sqlalchemy_url, poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES "
                "(1, 'busy@example.com', 'h', now()), (2, 'new@example.com', 'h', now())"
            )
        )
        for user_id, rows in ((1, 20_000), (2, 50)):
            connection.execute(
                text(
                    "INSERT INTO todos (user_id, title, completed, created_at, updated_at) "
                    "SELECT :user_id, 'todo', n % 5 = 0, now(), now() "
                    "FROM generate_series(1, :rows) AS n"
                ),
                {"user_id": user_id, "rows": rows},
            )
        connection.commit()
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE todos")
        )
        yield connection
    engine.dispose()


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Scan" in plan["Node Type"]:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


_PAGES = [
    ("first", False, None),
    ("first", True, None),
    ("newer", False, 0),  # the oldest page
    ("newer", True, 0),
    ("older", False, 2**62),
]


def _scans_of_generic_plan(crowded: Connection, sql: str, values: dict[str, Any]) -> list[Any]:
    names: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    sql = re.sub(r"%\((\w+)\)s", numbered, sql)
    arguments = ", ".join(str(values[name]).lower() for name in names)
    # Prepared statements get a generic plan, made without the owner's id, after five runs;
    # forced here at once.
    crowded.execute(text("SET plan_cache_mode = force_generic_plan"))
    crowded.exec_driver_sql(f"PREPARE page AS {sql}")
    try:
        explained = crowded.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page({arguments})"
        ).scalar_one()
    finally:
        crowded.exec_driver_sql("DEALLOCATE page")
    plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
    return list(_scans(plan))


def _values(after_id: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {"owner_id": 2, "completed": True, "page_offset": 0}
    values["page_limit"] = PAGE_ROWS
    values["after_id"] = after_id if after_id is not None else 0
    return values


@pytest.mark.parametrize(("start", "filtered", "after_id"), _PAGES)
def test_a_page_reads_only_its_own_rows_even_with_a_generic_plan(
    crowded: Connection, start: PageStart, filtered: bool, after_id: int | None
) -> None:
    compiled = page_query(start, filtered, postgres=True).compile(crowded)
    for scan in _scans_of_generic_plan(crowded, str(compiled), _values(after_id)):
        assert scan["Actual Rows"] <= PAGE_ROWS, scan
        assert scan.get("Rows Removed by Filter", 0) == 0, scan


@pytest.mark.parametrize(("start", "filtered", "after_id"), _PAGES)
def test_the_list_statement_reads_the_user_counts_and_page_rows_only(
    crowded: Connection, start: PageStart, filtered: bool, after_id: int | None
) -> None:
    """The statement the server runs (pgstore.py): the page, beside one user and counts row."""
    scans = _scans_of_generic_plan(crowded, listing_sql(start, filtered), _values(after_id))
    assert {scan.get("Relation Name") for scan in scans} >= {"users", "todos"}
    for scan in scans:
        assert scan["Actual Rows"] <= PAGE_ROWS, scan
        assert scan.get("Rows Removed by Filter", 0) == 0, scan
