"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from todo_api.credentials import local_part_problem, password_problem
from todo_api.paging import decode_cursor

MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Offsets cost a row read per todo skipped; deeper pages are reached with cursors.
MAX_OFFSET = 1000


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# Bidirectional embeddings, overrides and isolates reorder how text is shown ("Trojan Source":
# `abc\u202egnp.exe` displays as `abcexe.png`). The plain marks (U+200E, U+200F, U+061C) stay
# allowed: right-to-left writing needs them, and they cannot reorder anything.
_BIDI_CONTROLS = {
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
}
# Characters that draw nothing although Unicode files them as letters or symbols.
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"}


def _describe_character(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in _BIDI_CONTROLS:
        return f"the bidirectional control {code} ({_BIDI_CONTROLS[char]})"
    return f"the control character {code}"


def _refuse_controls(value: str, allowed: frozenset[str]) -> str:
    for char in value:
        if char in _BIDI_CONTROLS or (unicodedata.category(char) == "Cc" and char not in allowed):
            raise ValueError(f"must not contain {_describe_character(char)}")
        if char in "\u2028\u2029" and char not in allowed:
            raise ValueError(f"must not contain the line separator U+{ord(char):04X}")
    return value


def _plain_line(value: str) -> str:
    """A title: one line of text without control characters."""
    return _refuse_controls(value, frozenset())


def _plain_text(value: str) -> str:
    """A description: text that may span lines (tab, LF, CR and the Unicode separators)."""
    return _refuse_controls(value, frozenset("\t\n\r\u2028\u2029"))


def _visible(value: str) -> str:
    # Zero-width spaces, joiners, combining marks alone and the like show nothing.
    if all(
        char.isspace()
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
        or char in _BLANK_LETTERS
        for char in value
    ):
        raise ValueError("must contain a visible character")
    return value


def _decodable_cursor(value: str) -> str:
    decode_cursor(value)
    return value


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they are stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE),
    AfterValidator(_storable),
    AfterValidator(_plain_line),
    AfterValidator(_visible),
]
Description = Annotated[
    str,
    Field(max_length=MAX_DESCRIPTION),
    AfterValidator(_storable),
    AfterValidator(_plain_text),
]
Password = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(_storable)]
Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(_storable)]
UtcTimestamp = Annotated[
    datetime, PlainSerializer(lambda v: _as_utc(v).isoformat(), return_type=str)
]
StatusFilter = Literal["all", "open", "done"]
PageCursor = Annotated[
    str,
    Field(max_length=40, description="next_cursor, prev_cursor or last_cursor of a page"),
    AfterValidator(_decodable_cursor),
]


class StrictBody(BaseModel):
    # strict: a field takes its own JSON type only ("yes" or 1 is not a boolean, "5" no number).
    model_config = ConfigDict(extra="forbid", strict=True)


class Credentials(StrictBody):
    """A sign-up: the password and the address must pass credentials.py's rules, each refusal
    a 422 naming its field and its reason."""

    email: Email
    password: Password

    @field_validator("email")
    @classmethod
    def _local_part_of_one_script(cls, email: str) -> str:
        if (problem := local_part_problem(email)) is not None:
            raise problem
        return email

    @field_validator("password")
    @classmethod
    def _hard_to_guess(cls, password: str, info: ValidationInfo) -> str:
        # The email is validated first (field order); it is missing here when it was invalid.
        if (problem := password_problem(password, info.data.get("email"))) is not None:
            raise problem
        return password


class LoginCredentials(StrictBody):
    # Login accepts any password length up to the signup maximum; wrong ones get a 401.
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_storable)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int


class UserOut(BaseModel):
    id: int
    email: str
    created_at: UtcTimestamp


class TodoCreate(StrictBody):
    title: Title
    description: Description | None = None


class TodoUpdate(StrictBody):
    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None

    @model_validator(mode="after")
    def _only_description_may_be_null(self) -> TodoUpdate:
        for name in ("title", "completed"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TodoOut(BaseModel):
    id: int
    title: str
    description: str | None
    completed: bool
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class TodoCountsOut(BaseModel):
    all: int
    open: int
    done: int


class TodoPage(BaseModel):
    items: list[TodoOut]
    total: int = Field(description="How many todos the status filter matches")
    limit: int
    offset: int
    counts: TodoCountsOut
    next_cursor: str | None = Field(description="The older todos; null on the last page")
    prev_cursor: str | None = Field(description="The newer todos; null on the first page")
    last_cursor: str | None = Field(description="The oldest todos; null on the last page")


class TodosViewOut(TodoPage):
    """A page of the list with whose list it is: what a list screen needs, in one answer."""

    user: UserOut


class Status(BaseModel):
    status: str


class ErrorBody(BaseModel):
    detail: str
