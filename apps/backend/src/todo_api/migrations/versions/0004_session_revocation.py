"""Sessions that end: a per-user token version and a list of revoked token ids.

A token carries its id (jti) and the user's token version at issue. Logging out lists the id
in revoked_tokens until the token would have expired anyway; logging out everywhere raises the
user's version, which ends every token issued before.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"

_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it must (keeping AUTOINCREMENT, see 0002),
    # PostgreSQL alters it in place.
    with op.batch_alter_table("users", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name="pk_revoked_tokens"),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revoked_tokens_expires_at", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    with op.batch_alter_table("users", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.drop_column("token_version")
