from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from conftest import Account


def create(client: TestClient, account: Account, title: str, **extra: object) -> dict[str, object]:
    response = client.post("/todos", json={"title": title, **extra}, headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_create_returns_the_todo(client: TestClient, account: Account) -> None:
    todo = create(client, account, "  buy milk  ", description="two litres")
    assert todo["title"] == "buy milk"
    assert todo["description"] == "two litres"
    assert todo["completed"] is False
    assert isinstance(todo["id"], int)
    assert todo["created_at"] == todo["updated_at"]
    assert datetime.fromisoformat(str(todo["created_at"])).tzinfo is not None


def test_get_returns_the_same_todo(client: TestClient, account: Account) -> None:
    todo = create(client, account, "read")
    response = client.get(f"/todos/{todo['id']}", headers=account.headers)
    assert response.status_code == 200
    assert response.json() == todo


def test_list_is_newest_first_with_totals(client: TestClient, account: Account) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(5)]
    page = client.get("/todos", headers=account.headers).json()
    assert [item["id"] for item in page["items"]] == list(reversed(ids))
    assert page["total"] == 5
    assert page["limit"] == 20
    assert page["offset"] == 0


def test_list_paginates(client: TestClient, account: Account) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(7)]
    newest_first = list(reversed(ids))
    seen: list[object] = []
    for offset in range(0, 7, 3):
        page = client.get(f"/todos?limit=3&offset={offset}", headers=account.headers).json()
        assert page["total"] == 7
        assert (page["limit"], page["offset"]) == (3, offset)
        seen.extend(item["id"] for item in page["items"])
    assert seen == newest_first
    for query in ("offset=50", "limit=2&offset=50"):
        beyond = client.get(f"/todos?{query}", headers=account.headers).json()
        assert beyond["items"] == []
        assert beyond["total"] == 7
    client.post(f"/todos/{ids[0]}/complete", headers=account.headers)
    past_open = client.get("/todos?status=open&limit=2&offset=50", headers=account.headers).json()
    assert past_open["total"] == 6


def test_list_filters_by_status(client: TestClient, account: Account) -> None:
    open_todo = create(client, account, "open")
    done_todo = create(client, account, "done")
    client.post(f"/todos/{done_todo['id']}/complete", headers=account.headers)

    def ids(status: str) -> list[object]:
        page = client.get(f"/todos?status={status}", headers=account.headers).json()
        return [item["id"] for item in page["items"]]

    assert ids("open") == [open_todo["id"]]
    assert ids("done") == [done_todo["id"]]
    assert ids("all") == [done_todo["id"], open_todo["id"]]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "offset=-1",
        "offset=1001",
        "cursor=bm9wZQ",
        "cursor=b2xkZXI6MDE",
        "cursor=" + "A" * 41,
        "cursor=b2xkZXI6NQ&offset=20",
        "offset=99999999999999999999999",
        "status=archived",
        "limit=1.5",
    ],
)
def test_list_refuses_out_of_bounds_paging(
    client: TestClient, account: Account, query: str
) -> None:
    response = client.get(f"/todos?{query}", headers=account.headers)
    assert response.status_code == 422


def _walk(
    client: TestClient, account: Account, query: str, key: str, start: str | None = None
) -> list[list[object]]:
    """The id lists of the pages met following `key` (next_cursor or prev_cursor)."""
    pages: list[list[object]] = []
    cursor = start
    while True:
        url = f"/todos?{query}" + ("" if cursor is None else f"&cursor={cursor}")
        response = client.get(url, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page[key]
        if cursor is None:
            return pages


def test_cursor_pages_neither_repeat_nor_skip_while_todos_come_and_go(
    client: TestClient, account: Account
) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(25)]
    newest_first = list(reversed(ids))
    seen: list[object] = []
    added: list[object] = []
    cursor = None
    while True:
        url = "/todos?limit=4" + ("" if cursor is None else f"&cursor={cursor}")
        page = client.get(url, headers=account.headers).json()
        seen.extend(item["id"] for item in page["items"])
        # Between pages someone adds a todo and deletes one shown already: offsets would
        # now show a todo again, or skip one.
        added.append(create(client, account, "meanwhile")["id"])
        if page["items"]:
            client.delete(f"/todos/{page['items'][0]['id']}", headers=account.headers)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    assert not set(added) & set(seen)


def test_cursors_lead_back_and_to_the_oldest_page(client: TestClient, account: Account) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(11)]
    for todo_id in ids[::3]:
        client.post(f"/todos/{todo_id}/complete", headers=account.headers)
    newest_first = list(reversed(ids))

    forward = _walk(client, account, "limit=4", "next_cursor")
    assert forward == [newest_first[0:4], newest_first[4:8], newest_first[8:11]]

    first = client.get("/todos?limit=4", headers=account.headers).json()
    assert first["prev_cursor"] is None
    oldest = client.get(
        f"/todos?limit=4&cursor={first['last_cursor']}", headers=account.headers
    ).json()
    assert [item["id"] for item in oldest["items"]] == newest_first[-4:]
    assert (oldest["next_cursor"], oldest["last_cursor"]) == (None, None)
    # Back from the oldest page to the newest: the newest page is full, as when first shown.
    backward = _walk(client, account, "limit=4", "prev_cursor", first["last_cursor"])
    assert backward == [newest_first[-4:], newest_first[3:7], newest_first[0:4]]

    done_first = [todo_id for todo_id in newest_first if todo_id in ids[::3]]
    assert _walk(client, account, "status=done&limit=3", "next_cursor") == [
        done_first[0:3],
        done_first[3:],
    ]


def test_a_page_emptied_by_deletions_leads_back_to_the_todos_before_it(
    client: TestClient, account: Account
) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(5)]
    pages = _walk(client, account, "limit=2", "next_cursor")
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    second = client.get("/todos?limit=2", headers=account.headers).json()["next_cursor"]
    third = client.get(f"/todos?limit=2&cursor={second}", headers=account.headers).json()
    client.delete(f"/todos/{ids[0]}", headers=account.headers)
    emptied = client.get(
        f"/todos?limit=2&cursor={third['next_cursor']}", headers=account.headers
    ).json()
    assert (emptied["items"], emptied["next_cursor"]) == ([], None)
    back = client.get(f"/todos?limit=2&cursor={emptied['prev_cursor']}", headers=account.headers)
    assert [item["id"] for item in back.json()["items"]] == [ids[2], ids[1]]


def test_list_reports_the_counts_of_every_status(client: TestClient, account: Account) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(5)]
    client.post(f"/todos/{ids[0]}/complete", headers=account.headers)
    client.patch(f"/todos/{ids[1]}", json={"completed": True}, headers=account.headers)
    client.post(f"/todos/{ids[1]}/complete", headers=account.headers)  # done already
    client.delete(f"/todos/{ids[2]}", headers=account.headers)
    client.post(f"/todos/{ids[0]}/uncomplete", headers=account.headers)
    for status, total in (("all", 4), ("open", 3), ("done", 1)):
        page = client.get(f"/todos?status={status}&limit=1", headers=account.headers).json()
        assert page["counts"] == {"all": 4, "open": 3, "done": 1}
        assert page["total"] == total


def test_list_accepts_the_page_size_bounds(client: TestClient, account: Account) -> None:
    for limit in (1, 100):
        assert client.get(f"/todos?limit={limit}", headers=account.headers).status_code == 200


def test_patch_changes_only_given_fields(client: TestClient, account: Account) -> None:
    todo = create(client, account, "draft", description="notes")
    response = client.patch(
        f"/todos/{todo['id']}", json={"title": "final"}, headers=account.headers
    )
    assert response.status_code == 200
    patched = response.json()
    assert (patched["title"], patched["description"], patched["completed"]) == (
        "final",
        "notes",
        False,
    )
    assert patched["updated_at"] >= todo["updated_at"]

    cleared = client.patch(
        f"/todos/{todo['id']}",
        json={"description": None, "completed": True},
        headers=account.headers,
    ).json()
    assert (cleared["title"], cleared["description"], cleared["completed"]) == ("final", None, True)


def test_patch_with_an_empty_body_changes_nothing(client: TestClient, account: Account) -> None:
    todo = create(client, account, "same")
    response = client.patch(f"/todos/{todo['id']}", json={}, headers=account.headers)
    assert response.status_code == 200
    assert response.json() == todo


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"completed": None},
        {"title": ""},
        {"title": "   "},
        {"title": "t" * 201},
        {"description": "d" * 2001},
        {"completed": "maybe"},
        {"completed": "yes"},
        {"completed": "true"},
        {"completed": 1},
        {"completed": 0},
        {"title": 5},
        {"description": 5},
        {"owner": 1},
    ],
)
def test_patch_rejects_bad_input(
    client: TestClient, account: Account, body: dict[str, object]
) -> None:
    todo = create(client, account, "keep")
    response = client.patch(f"/todos/{todo['id']}", json=body, headers=account.headers)
    assert response.status_code == 422
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).json() == todo


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "t" * 201},
        {"title": "nul\u0000byte"},
        {"title": "ok", "description": "d" * 2001},
        {"title": "ok", "completed": True},
        {"title": 5},
        [],
    ],
)
def test_create_rejects_bad_input(client: TestClient, account: Account, body: object) -> None:
    response = client.post("/todos", json=body, headers=account.headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("field", "text", "named"),
    [
        ("title", "beep\x07", "the control character U+0007"),
        ("title", "\x01\x07\x1b[31mred", "the control character U+0001"),
        ("title", "two\nlines", "the control character U+000A"),
        ("title", "tab\there", "the control character U+0009"),
        ("title", "del\x7f", "the control character U+007F"),
        ("title", "c1\x85next", "the control character U+0085"),
        ("title", "line\u2028separator", "the line separator U+2028"),
        ("title", "abc\u202egnp.exe", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("title", "x\u2066y\u2069", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ("description", "esc\x1b[2J", "the control character U+001B"),
        ("description", "invoice\u202dfdp.exe", "U+202D (LEFT-TO-RIGHT OVERRIDE)"),
    ],
)
def test_control_and_bidi_characters_are_refused_by_name(
    client: TestClient, account: Account, field: str, text: str, named: str
) -> None:
    body = {"title": "ok", field: text}
    response = client.post("/todos", json=body, headers=account.headers)
    assert response.status_code == 422
    messages = [error["msg"] for error in response.json()["detail"]]
    assert any(named in message for message in messages), messages
    todo = create(client, account, "kept")
    patched = client.patch(f"/todos/{todo['id']}", json={field: text}, headers=account.headers)
    assert patched.status_code == 422


@pytest.mark.parametrize(
    "title",
    ["\u200b", " \u200b\u200c\u200d ", "\ufeff", "\u2060\u00a0\u3000", "\u3164", "\u0301"],
)
def test_titles_that_show_nothing_are_refused(
    client: TestClient, account: Account, title: str
) -> None:
    response = client.post("/todos", json={"title": title}, headers=account.headers)
    assert response.status_code == 422
    assert "visible character" in response.text


@pytest.mark.parametrize(
    "title",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",  # ZWJ sequence
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag: flag + VS16 + ZWJ + rainbow
        "\U0001f1eb\U0001f1f7",  # regional indicators: FR
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # tag seq.
        "1\ufe0f\u20e3 keycap",
        "\U0001f44d\U0001f3fd",  # skin tone modifier
        "\u05e9\u05dc\u05d5\u05dd\u200f world",  # Hebrew with a right-to-left mark
        "e\u0301te\u0301",  # combining accents on letters
    ],
)
def test_emoji_sequences_and_right_to_left_text_are_kept(
    client: TestClient, account: Account, title: str
) -> None:
    todo = create(client, account, title, description="line one\n\tline two\r\n")
    fetched = client.get(f"/todos/{todo['id']}", headers=account.headers).json()
    assert fetched["title"] == title
    assert fetched["description"] == "line one\n\tline two\r\n"


def test_create_accepts_the_longest_fields(client: TestClient, account: Account) -> None:
    todo = create(client, account, "t" * 200, description="d" * 2000)
    assert len(str(todo["title"])) == 200


def test_create_keeps_unicode(client: TestClient, account: Account) -> None:
    todo = create(client, account, "café ☕ 日本語 🎉", description="émoji ✓")
    fetched = client.get(f"/todos/{todo['id']}", headers=account.headers).json()
    assert fetched["title"] == "café ☕ 日本語 🎉"


def test_lone_surrogates_are_refused(client: TestClient, account: Account) -> None:
    response = client.post(
        "/todos",
        content=b'{"title": "bad \\ud800 text"}',
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_complete_and_uncomplete(client: TestClient, account: Account) -> None:
    todo = create(client, account, "toggle")
    done = client.post(f"/todos/{todo['id']}/complete", headers=account.headers)
    assert done.status_code == 200
    assert done.json()["completed"] is True
    undone = client.post(f"/todos/{todo['id']}/uncomplete", headers=account.headers)
    assert undone.json()["completed"] is False


def test_delete_then_it_is_gone(client: TestClient, account: Account) -> None:
    todo = create(client, account, "temporary")
    response = client.delete(f"/todos/{todo['id']}", headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/todos/{todo['id']}", headers=account.headers).status_code == 404
    assert client.delete(f"/todos/{todo['id']}", headers=account.headers).status_code == 404


@pytest.mark.parametrize("todo_id", ["0", "-1", "abc", "9223372036854775808", "1e3"])
def test_invalid_ids_are_422(client: TestClient, account: Account, todo_id: str) -> None:
    assert client.get(f"/todos/{todo_id}", headers=account.headers).status_code == 422


def test_the_largest_id_is_simply_not_found(client: TestClient, account: Account) -> None:
    response = client.get("/todos/9223372036854775807", headers=account.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "todo 9223372036854775807 not found"}


def test_another_users_todo_is_invisible(
    client: TestClient, account: Account, other_account: Account
) -> None:
    mine = create(client, account, "private")
    path = f"/todos/{mine['id']}"
    theirs = other_account.headers
    assert client.get(path, headers=theirs).status_code == 404
    assert client.patch(path, json={"title": "hijacked"}, headers=theirs).status_code == 404
    assert client.post(f"{path}/complete", headers=theirs).status_code == 404
    assert client.post(f"{path}/uncomplete", headers=theirs).status_code == 404
    assert client.delete(path, headers=theirs).status_code == 404
    assert client.get("/todos", headers=theirs).json()["total"] == 0
    # The owner still sees it unchanged.
    assert client.get(path, headers=account.headers).json() == mine


def test_oversized_bodies_are_refused_with_413(client: TestClient, account: Account) -> None:
    huge = '{"title": "x", "description": "' + "d" * 100_000 + '"}'
    response = client.post(
        "/todos", content=huge, headers={**account.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "request body too large"}


def test_oversized_streamed_bodies_are_refused_with_413(
    client: TestClient, account: Account
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = client.post(
        "/todos", content=chunks(), headers={**account.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_the_list_view_is_me_and_the_list_in_one_answer(
    client: TestClient, account: Account
) -> None:
    ids = [create(client, account, f"task {n}")["id"] for n in range(5)]
    client.post(f"/todos/{ids[1]}/complete", headers=account.headers)
    me = client.get("/me", headers=account.headers).json()
    for query in ("", "?status=open&limit=2", "?status=done", "?limit=2&offset=3"):
        view = client.get(f"/me/todos{query}", headers=account.headers)
        assert view.status_code == 200, view.text
        page = client.get(f"/todos{query}", headers=account.headers).json()
        assert view.json() == {**page, "user": me}
    second = client.get("/todos?limit=2", headers=account.headers).json()["next_cursor"]
    older = client.get(f"/todos?limit=2&cursor={second}", headers=account.headers).json()
    for cursor in (second, older["prev_cursor"], older["last_cursor"]):
        query = f"?limit=2&cursor={cursor}"
        page = client.get(f"/todos{query}", headers=account.headers).json()
        assert client.get(f"/me/todos{query}", headers=account.headers).json() == {
            **page,
            "user": me,
        }


def test_the_list_view_of_a_new_account_is_empty(client: TestClient, account: Account) -> None:
    view = client.get("/me/todos", headers=account.headers).json()
    assert (view["items"], view["total"]) == ([], 0)
    assert view["counts"] == {"all": 0, "open": 0, "done": 0}
    assert view["user"]["email"] == account.email


def test_the_list_view_refuses_what_the_list_refuses(client: TestClient, account: Account) -> None:
    assert client.get("/me/todos").status_code == 401
    for query in ("limit=0", "status=later", "cursor=nonsense", "offset=1001"):
        response = client.get(f"/me/todos?{query}", headers=account.headers)
        assert response.status_code == 422, query
