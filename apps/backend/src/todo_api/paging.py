"""Opaque list cursors: a position in a user's newest-first list, by todo id.

A cursor names the id the next page starts past, so concurrent inserts (new ids are higher)
and deletes never shift a page: no todo is shown twice or skipped while paging.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from todo_api.security import MAX_ID

Direction = Literal["older", "newer"]
_CURSOR_TEXT = re.compile(r"(older|newer):(0|[1-9][0-9]{0,18})")


@dataclass(frozen=True, slots=True)
class Cursor:
    """`older`: the todos below `todo_id`; `newer`: those above it (newer than 0: the oldest)."""

    direction: Direction
    todo_id: int


OLDEST_PAGE = Cursor("newer", 0)


class InvalidCursorError(ValueError):
    def __init__(self) -> None:
        super().__init__("invalid cursor")


def encode_cursor(cursor: Cursor) -> str:
    text = f"{cursor.direction}:{cursor.todo_id}".encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_cursor(value: str) -> Cursor:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursorError from None
    match = _CURSOR_TEXT.fullmatch(text)
    if match is None or int(match[2]) > MAX_ID:
        raise InvalidCursorError
    direction: Direction = "older" if match[1] == "older" else "newer"
    cursor = Cursor(direction, int(match[2]))
    if encode_cursor(cursor) != value:  # base64 decoding forgives stray characters
        raise InvalidCursorError
    return cursor
