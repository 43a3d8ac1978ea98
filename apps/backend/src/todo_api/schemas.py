"""Request and response bodies of the HTTP API."""

from __future__ import annotations

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
    model_validator,
)

MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_OFFSET = 1_000_000


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they are stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE),
    AfterValidator(_storable),
]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION), AfterValidator(_storable)]
Password = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(_storable)]
Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(_storable)]
UtcTimestamp = Annotated[
    datetime, PlainSerializer(lambda v: _as_utc(v).isoformat(), return_type=str)
]
StatusFilter = Literal["all", "open", "done"]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(StrictBody):
    email: Email
    password: Password


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


class TodoPage(BaseModel):
    items: list[TodoOut]
    total: int
    limit: int
    offset: int


class Status(BaseModel):
    status: str


class ErrorBody(BaseModel):
    detail: str
