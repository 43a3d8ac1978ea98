"""Login and sign-up attempt counters, shared by every worker and replica.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("window_started_ms", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_auth_throttle"),
    )


def downgrade() -> None:
    op.drop_table("auth_throttle")
