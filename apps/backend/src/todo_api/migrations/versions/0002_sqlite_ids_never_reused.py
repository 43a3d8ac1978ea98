"""SQLite: ids are never handed out again (AUTOINCREMENT).

Without AUTOINCREMENT, SQLite gives a new row the highest id in use plus one, so after the
newest user was deleted the next sign-up got its id, and a token issued to the deleted user
read the new one's todos. The tables are rebuilt with AUTOINCREMENT; their rows are kept.
PostgreSQL's identity sequences never reuse a value: nothing to do there.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ("users", "todos"):
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
