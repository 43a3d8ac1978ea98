"""Schema of the database, shared by queries and migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Identifier = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    # The address's UTS #39 confusable skeleton (credentials.email_skeleton): no two accounts
    # whose addresses look the same. Nullable (expand): the previous release does not write it.
    Column("email_skeleton", Text, nullable=True, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Raised by "log out everywhere": tokens carry the version they were issued under.
    Column("token_version", Integer, nullable=False, server_default="0"),
    # AUTOINCREMENT: SQLite never hands out an id again, even the highest one after a delete
    # (a token names its user by id; PostgreSQL's sequences never reuse one either).
    sqlite_autoincrement=True,
)

todos = Table(
    "todos",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column(
        "user_id",
        Identifier,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("completed", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Lists are per user, newest first, optionally filtered by status.
    Index(None, "user_id", "completed", "id"),
    Index(None, "user_id", "id"),
    sqlite_autoincrement=True,
)

# Each user's open and done todos, kept exact by triggers on todos (migration 0005), so a list
# page reads its totals instead of counting rows. A user gets a row with their first todo.
todo_counts = Table(
    "todo_counts",
    metadata,
    Column(
        "user_id",
        Identifier,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("open_count", BigInteger, nullable=False),
    Column("done_count", BigInteger, nullable=False),
)

# Login and sign-up attempt counters (see throttle.py); one row per limited key.
auth_throttle = Table(
    "auth_throttle",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("window_started_ms", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
)

# Ids of tokens ended by logging out, kept until the token would have expired (epoch seconds).
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "expires_at"),
)

# Answers of writes sent with an Idempotency-Key (see idempotency.py), kept at least
# IDEMPOTENCY_KEY_HOURS. `scope` is whose key it is (a user, or a client address for sign-up);
# `fingerprint` an HMAC of the request. A sign-up keeps the user it created, never its token.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=True),
    Column("created_user_id", Identifier, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "created_at"),
)
