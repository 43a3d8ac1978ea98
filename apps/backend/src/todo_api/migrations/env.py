"""Alembic environment: runs on the connection handed over by todo_api.migrations."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from todo_api.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `python -m todo_api migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
