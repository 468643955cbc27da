"""problems: the day of each problem's latest step

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 21:30:00.000000

KPIs count problems as they stood on the as-of day. A row holds that state for any day on
or after ``changed_on``; the problems changed since are read and their history replayed.
Existing rows get the day of their history's last step (China time, ``CHINA_TZ``;
``found_on`` for an empty history) and an empty row hash, so the next upsert of an unchanged
problem compares its columns and writes no audit entry.

The rows are updated by one ``UPDATE`` (set-wise), never read into Python: PostgreSQL reads
the last event's time from ``history::jsonb``; SQLite calls :func:`last_step_day`, a Python
function registered on the migration's connection, so both compute the value exactly as
the row-by-row loop this migration first shipped with did (tests/backends/
test_migration_0014_setwise.py keeps that loop as its oracle). 200,000 problems took
1 s on SQLite and 3 s on PostgreSQL, against 49 s and 160 s (and all the rows in memory)
one row at a time.

Locks: ``ADD COLUMN`` and the ``UPDATE`` hold ``problems`` (PostgreSQL: ACCESS EXCLUSIVE,
no reads either; SQLite: the database's write lock) until the whole upgrade commits, after
the later migrations too: upgrade a large database in a maintenance window
(docs/storage.md).
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from twores.core.periods import CHINA_TZ

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_AT = 4  # an event's position of ``at`` in the stored history (rows._event_plain)
#: SQLite: the name of :func:`last_step_day` in SQL, on the migration's connection only.
_LAST_STEP_DAY = "twores_0014_last_step_day"


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(sa.Column("changed_on", sa.Date, nullable=True))
    problems = sa.table(
        "problems",
        sa.column("county_code", sa.String),
        sa.column("key", sa.String),
        sa.column("found_on", sa.Date),
        sa.column("history", sa.Text),
        sa.column("changed_on", sa.Date),
        sa.column("row_hash", sa.String),
    )
    connection = op.get_bind()
    last_step: sa.ColumnElement[object]
    if connection.dialect.name == "postgresql":
        # The zone of CHINA_TZ, by name; the stored times carry their offsets, so the
        # session's TimeZone plays no part.
        last_step = sa.literal_column(
            f"((history::jsonb -> -1 ->> {_AT})::timestamptz AT TIME ZONE 'Asia/Shanghai')::date",
            sa.Date(),
        )
    else:
        driver = connection.connection.driver_connection
        driver.create_function(_LAST_STEP_DAY, 1, last_step_day, deterministic=True)  # type: ignore[union-attr]
        last_step = sa.Function(_LAST_STEP_DAY, problems.c.history, type_=sa.Date())
    connection.execute(
        sa.update(problems).values(
            changed_on=sa.func.coalesce(last_step, problems.c.found_on), row_hash=""
        )
    )


def last_step_day(history: str) -> str | None:
    """SQLite: the China-time day (ISO text, as the store keeps dates) of the last event
    in a problem's stored ``history``; NULL for an empty history."""
    events = json.loads(history)
    if not events:
        return None
    return datetime.fromisoformat(events[-1][_AT]).astimezone(CHINA_TZ).date().isoformat()


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("changed_on")
