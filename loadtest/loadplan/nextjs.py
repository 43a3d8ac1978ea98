"""The frontend's server actions, called the way its pages call them in a browser.

A Next.js page calls a server action with `POST <page path>`, the header `Next-Action: <id>`
and the arguments encoded by React (`encodeReply`): for `(previousState, formData)` a
multipart body whose field "0" is `[previousState, "$K1"]` and whose form fields are named
`_1_<field>`. The answer is a React Server Components stream whose row 0 holds the action's
result (`"a"`), and an action that redirects says where in `x-action-redirect`. Captured from
Chromium on this app (Next.js 16, React 19); the tests keep samples of each shape.

Where the ids come from, as the browser gets them: an action a server component hands to a
client component as a prop appears in the page's inline payload (`"prop":"$h<row>"`, and row
`<row>` is `{"id":...}`); one a client component imports itself (log out) is in that
component's script (`createServerReference)("<id>",...,"logOut")`).
"""

from __future__ import annotations

import json
import re
from typing import Any

_PAYLOAD_PUSH = re.compile(r'self\.__next_f\.push\(\[1,"((?:[^"\\]|\\.)*)"\]\)')
_PROP_REFERENCE = re.compile(r'"(\w+)":"\$h([0-9a-f]+)"')
_REFERENCE_ROW = re.compile(r'^([0-9a-f]+):\{"id":"([0-9a-f]+)","bound":null\}$', re.MULTILINE)
_IMPORTED_ACTION = re.compile(
    r'createServerReference\)\("([0-9a-f]+)",[\w.$]+,void 0,[\w.$]+,"(\w+)"\)'
)
_SCRIPT = re.compile(r"/_next/static/chunks/[\w.-]+\.js")
_ROW = re.compile(r"^([0-9a-f]+):([\[{].*)$", re.MULTILINE)

# A result the stream defers to a later row ("$@1").
_ROW_REFERENCE = re.compile(r"^\$@([0-9a-f]+)$")


class ProtocolError(Exception):
    """The page or answer is not shaped as this module expects (a frontend change?)."""


def flight_payload(html: str) -> str:
    """The React Server Components payload a page inlines (`self.__next_f.push`)."""
    chunks = _PAYLOAD_PUSH.findall(html)
    if not chunks:
        raise ProtocolError("the page inlines no React Server Components payload")
    return "".join(json.loads(f'"{chunk}"') for chunk in chunks)


def actions_by_prop(payload: str) -> dict[str, str]:
    """Action ids handed to client components, by the prop that carries each."""
    rows = dict(_REFERENCE_ROW.findall(payload))
    return {prop: rows[row] for prop, row in _PROP_REFERENCE.findall(payload) if row in rows}


def actions_by_name(script: str) -> dict[str, str]:
    """Action ids a client script imports, by their exported name."""
    return {name: action_id for action_id, name in _IMPORTED_ACTION.findall(script)}


def scripts_of(html: str) -> list[str]:
    """The page's script chunks (paths), in order, without repeats."""
    return list(dict.fromkeys(_SCRIPT.findall(html)))


def form_call(
    previous_state: dict[str, Any] | None, fields: dict[str, str]
) -> list[tuple[str, str]]:
    """Multipart fields for `action(previousState, formData)`, as React encodes them, or for
    `action(formData)` when there is no previous state (log out)."""
    encoded = [(f"_1_{name}", value) for name, value in fields.items()]
    arguments = ["$K1"] if previous_state is None else [previous_state, "$K1"]
    return [*encoded, ("0", json.dumps(arguments, separators=(",", ":")))]


def multipart(fields: list[tuple[str, str]], boundary: str) -> tuple[str, str]:
    """A multipart/form-data body of text fields and its Content-Type."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    return "".join(parts) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


def result_of(stream: str) -> Any:
    """The action's return value from its answer (row 0's "a", or the row it points to)."""
    rows: dict[str, Any] = {}
    for row_id, text in _ROW.findall(stream):
        try:
            rows[row_id] = json.loads(text)
        except json.JSONDecodeError:
            continue  # rows of other kinds (imports, hints, text) are not results
    head = rows.get("0")
    if not isinstance(head, dict) or "a" not in head:
        raise ProtocolError("the answer has no action result in row 0")
    result = head["a"]
    if isinstance(result, str) and (deferred := _ROW_REFERENCE.match(result)):
        if deferred.group(1) not in rows:
            raise ProtocolError(f"the answer's result row {deferred.group(1)} is missing")
        return rows[deferred.group(1)]
    return result


def redirect_of(header: str | None) -> str | None:
    """The path of an `x-action-redirect: /todos;push` header."""
    return None if not header else header.split(";", 1)[0]


def todo_id_in(stream: str, title: str) -> int | None:
    """The id of the todo with `title` in a re-rendered list (the answer of an add)."""
    match = re.search(r'"todo":\{"id":(\d+),"title":' + re.escape(json.dumps(title)), stream)
    return int(match.group(1)) if match else None
