"""Email skeletons: each account's UTS #39 confusable skeleton of its address, unique.

A nullable column (expand): the previous release neither reads nor writes it, so a rollback
needs no migration back. Existing accounts get theirs here. Where two existing addresses
already look the same, the older account keeps the skeleton and the newer one stays NULL (a
unique column takes any number of NULLs); the log names the ids.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from todo_api.credentials import email_skeleton

revision: str = "0007"
down_revision: str | None = "0006"

_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}
_log = logging.getLogger("todo_api.migrations")


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to add a unique column (keeping AUTOINCREMENT,
    # see 0002); PostgreSQL alters it in place.
    with op.batch_alter_table("users", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("email_skeleton", sa.Text(), nullable=True))
        batch.create_unique_constraint("uq_users_email_skeleton", ["email_skeleton"])
    _backfill_skeletons()


def _backfill_skeletons() -> None:
    users = sa.table("users", sa.column("id", sa.BigInteger()), sa.column("email", sa.String(254)))
    connection = op.get_bind()
    taken: dict[str, int] = {}
    for user_id, email in connection.execute(sa.select(users.c.id, users.c.email).order_by("id")):
        skeleton = email_skeleton(email)
        if skeleton in taken:
            _log.warning(
                "accounts %s and %s have addresses that look the same; %s keeps no skeleton",
                taken[skeleton],
                user_id,
                user_id,
            )
            continue
        taken[skeleton] = user_id
    if taken:  # one executemany, not a round trip per account
        connection.execute(
            sa.text("UPDATE users SET email_skeleton = :skeleton WHERE id = :id"),
            [{"skeleton": skeleton, "id": user_id} for skeleton, user_id in taken.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table("users", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.drop_constraint("uq_users_email_skeleton", type_="unique")
        batch.drop_column("email_skeleton")
