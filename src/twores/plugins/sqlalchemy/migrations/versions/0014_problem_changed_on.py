"""problems: the day of each problem's latest step

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 21:30:00.000000

KPIs count problems as they stood on the as-of day. A row holds that state for any day on
or after ``changed_on``; the problems changed since are read and their history replayed.
Existing rows get the day of their history's last step (China time) and an empty row hash,
so the next upsert of an unchanged problem compares its columns and writes no audit entry.
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
    found = connection.execute(
        sa.select(problems.c.county_code, problems.c.key, problems.c.found_on, problems.c.history)
    ).all()
    for county, key, found_on, history in found:
        events = json.loads(history)
        day = (
            datetime.fromisoformat(events[-1][_AT]).astimezone(CHINA_TZ).date()
            if events
            else found_on
        )
        connection.execute(
            sa.update(problems)
            .where(problems.c.county_code == county, problems.c.key == key)
            .values(changed_on=day, row_hash="")
        )


def downgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("changed_on")
