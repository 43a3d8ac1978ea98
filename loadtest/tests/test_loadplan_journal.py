"""What a read-back must find: acknowledged writes, with the races of reading under load."""

from __future__ import annotations

import io

from loadplan.journal import (
    Duplicated,
    Entry,
    Expected,
    Observed,
    append,
    expected_todos,
    find_duplicated,
    find_lost,
    parse,
)

ALICE = "alice@example.com"


def create(todo_id: int | None, title: str, account: str = ALICE) -> Entry:
    return Entry("create", 1.0, account, todo_id, title, "notes", "frontend")


def test_entries_survive_the_journal_and_a_half_written_line_waits() -> None:
    file = io.StringIO()
    append(file, create(7, "buy milk"))
    append(file, Entry("delete-sent", 2.0, ALICE, 7))
    text = file.getvalue() + '{"op": "create", "at": 3'
    assert parse(text.splitlines(keepends=True)) == [
        create(7, "buy milk"),
        Entry("delete-sent", 2.0, ALICE, 7),
    ]


def test_acknowledged_creates_are_expected_and_deleted_ones_are_not() -> None:
    entries = [
        create(1, "one"),
        create(2, "two"),
        Entry("delete-sent", 2.0, ALICE, 2),
        Entry("delete", 2.1, ALICE, 2),
        create(3, "three"),
        Entry("complete-sent", 3.0, ALICE, 3),
        Entry("complete", 3.1, ALICE, 3),
    ]
    expected = expected_todos(entries, entries)
    assert [(e.todo_id, e.completed) for e in expected] == [(1, False), (3, True)]


def test_a_delete_or_completion_sent_during_the_read_excuses_the_difference() -> None:
    before = [create(1, "one"), create(2, "two")]
    after = [
        *before,
        Entry("delete-sent", 5.0, ALICE, 1),
        Entry("complete-sent", 5.0, ALICE, 2),
        create(3, "new"),
    ]
    expected = expected_todos(before, after)
    # 1 may be gone, 2 may be done either way, and 3 was not acknowledged before the read.
    assert [(e.todo_id, e.completed) for e in expected] == [(2, None)]


def test_a_delete_sent_but_never_acknowledged_excuses_a_missing_todo() -> None:
    entries = [create(1, "one"), Entry("delete-sent", 2.0, ALICE, 1)]
    assert expected_todos(entries, entries) == []


def expected(todo_id: int | None, title: str, completed: bool | None = False) -> Expected:
    return Expected(ALICE, todo_id, title, "notes", completed, "frontend", 1.0)


def test_missing_and_changed_todos_are_lost() -> None:
    observed = {
        ALICE: [
            Observed(1, "one", "notes", False),
            Observed(2, "two (edited)", "notes", False),
            Observed(3, "three", None, True),
        ]
    }
    lost = find_lost(
        [expected(1, "one"), expected(2, "two"), expected(3, "three"), expected(4, "four")],
        observed,
    )
    assert [(item.expected.todo_id, item.reason) for item in lost] == [
        (2, "changed: title"),
        (3, "changed: description, completed"),
        (4, "missing"),
    ]


def test_a_todo_of_unknown_id_is_found_by_its_title_in_its_own_account() -> None:
    observed = {
        ALICE: [Observed(9, "made in the browser", "notes", False)],
        "bob@example.com": [Observed(10, "other", "notes", False)],
    }
    assert find_lost([expected(None, "made in the browser")], observed) == []
    lost = find_lost([expected(None, "other")], observed)
    assert [item.reason for item in lost] == ["missing"]


def test_either_state_is_right_for_a_completion_in_flight() -> None:
    observed = {ALICE: [Observed(1, "one", "notes", True)]}
    assert find_lost([expected(1, "one", completed=None)], observed) == []
    assert [item.reason for item in find_lost([expected(1, "one")], observed)] == [
        "changed: completed"
    ]


def test_a_title_listed_twice_in_one_account_is_an_action_applied_twice() -> None:
    bob = "bob@example.com"
    observed = {
        ALICE: [
            Observed(7, "resent", None, False),
            Observed(5, "once", None, False),
            Observed(4, "resent", None, False),
            Observed(3, "sent three times", None, True),
            Observed(2, "sent three times", None, True),
            Observed(1, "sent three times", None, True),
        ],
        # The same title in another account is that account's own todo.
        bob: [Observed(9, "once", None, False)],
    }
    assert find_duplicated(observed) == [
        Duplicated(ALICE, "resent", 2),
        Duplicated(ALICE, "sent three times", 3),
    ]
    assert find_duplicated({ALICE: [Observed(1, "a", None, False)], bob: []}) == []
