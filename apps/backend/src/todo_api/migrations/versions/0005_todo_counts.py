"""Open and done counts per user, kept by triggers, so a list never counts rows.

Triggers rather than the application: the previous release (still running during the rollout,
or back after a rollback) writes todos without knowing the counts, and its writes must count
too. No write may fall between the backfill and the triggers: PostgreSQL's table lock, and on
SQLite the write transaction that the backfill opens, hold writers back until both are done.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"

_BACKFILL = """
INSERT INTO todo_counts (user_id, open_count, done_count)
SELECT user_id,
       sum(CASE WHEN completed THEN 0 ELSE 1 END),
       sum(CASE WHEN completed THEN 1 ELSE 0 END)
FROM todos GROUP BY user_id
"""

# PostgreSQL: statement triggers over the changed rows (transition tables), one counts update
# per user and statement, so a bulk change costs one row version of the counts, not one per todo.
# An update counts only the todos whose `completed` flipped. A user's row appears with their
# first todo (the upsert).
_POSTGRES_FUNCTION = """
CREATE FUNCTION todo_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO todo_counts AS counts (user_id, open_count, done_count)
        SELECT user_id, count(*) FILTER (WHERE NOT completed), count(*) FILTER (WHERE completed)
        FROM new_rows GROUP BY user_id
        ON CONFLICT (user_id) DO UPDATE
        SET open_count = counts.open_count + excluded.open_count,
            done_count = counts.done_count + excluded.done_count;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE todo_counts AS counts
        SET open_count = counts.open_count - gone.open_count,
            done_count = counts.done_count - gone.done_count
        FROM (SELECT user_id,
                     count(*) FILTER (WHERE NOT completed) AS open_count,
                     count(*) FILTER (WHERE completed) AS done_count
              FROM old_rows GROUP BY user_id) AS gone
        WHERE counts.user_id = gone.user_id;
    ELSE
        UPDATE todo_counts AS counts
        SET open_count = counts.open_count + flips.reopened - flips.finished,
            done_count = counts.done_count - flips.reopened + flips.finished
        FROM (SELECT new_rows.user_id,
                     count(*) FILTER (WHERE NOT new_rows.completed) AS reopened,
                     count(*) FILTER (WHERE new_rows.completed) AS finished
              FROM new_rows JOIN old_rows USING (id)
              WHERE new_rows.completed <> old_rows.completed
              GROUP BY new_rows.user_id) AS flips
        WHERE counts.user_id = flips.user_id;
    END IF;
    RETURN NULL;
END
$$
"""
_POSTGRES_TRIGGERS = [
    "CREATE TRIGGER todos_counted_insert AFTER INSERT ON todos "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION todo_counts_follow()",
    "CREATE TRIGGER todos_counted_delete AFTER DELETE ON todos "
    "REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION todo_counts_follow()",
    # No column list: PostgreSQL allows none with transition tables.
    "CREATE TRIGGER todos_counted_update AFTER UPDATE ON todos "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION todo_counts_follow()",
]

# SQLite: row triggers (it has no others); an update counts when `completed` flips.
_SQLITE_ADD = """
INSERT INTO todo_counts (user_id, open_count, done_count)
VALUES (NEW.user_id, NOT NEW.completed, NEW.completed)
ON CONFLICT (user_id) DO UPDATE
SET open_count = open_count + excluded.open_count,
    done_count = done_count + excluded.done_count;
"""
_SQLITE_TAKE = """
UPDATE todo_counts
SET open_count = open_count - (NOT OLD.completed), done_count = done_count - OLD.completed
WHERE user_id = OLD.user_id;
"""
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER todos_counted_insert AFTER INSERT ON todos BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER todos_counted_delete AFTER DELETE ON todos BEGIN {_SQLITE_TAKE} END",
    "CREATE TRIGGER todos_counted_update AFTER UPDATE OF completed ON todos "
    f"WHEN OLD.completed IS NOT NEW.completed BEGIN {_SQLITE_TAKE} {_SQLITE_ADD} END",
]
_TRIGGER_NAMES = ("todos_counted_insert", "todos_counted_delete", "todos_counted_update")


def upgrade() -> None:
    op.create_table(
        "todo_counts",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("open_count", sa.BigInteger(), nullable=False),
        sa.Column("done_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_todo_counts_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_todo_counts"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("LOCK TABLE todos IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_BACKFILL)
    if postgres:
        op.execute(_POSTGRES_FUNCTION)
    for trigger in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER {name} ON todos" if postgres else f"DROP TRIGGER {name}")
    if postgres:
        op.execute("DROP FUNCTION todo_counts_follow()")
    op.drop_table("todo_counts")
