"""Accounts and todos.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None

_identifier = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _identifier, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "todos",
        sa.Column("id", _identifier, primary_key=True, autoincrement=True),
        sa.Column("user_id", _identifier, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_todos"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_todos_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_todos_user_id_completed_id", "todos", ["user_id", "completed", "id"])
    op.create_index("ix_todos_user_id_id", "todos", ["user_id", "id"])


def downgrade() -> None:
    op.drop_table("todos")
    op.drop_table("users")
