"""supervision_tasks: tasks looked up by key through the business index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:15:00.000000

A task's key is its business's key, a slash, its period and slot, so a lookup by key can
name the business as well and use ``ix_tasks_business``; ``ix_tasks_key`` only repeated
it and cost every scheduled task one more secondary-index insert (a first schedule of
内蒙古 ran about 0.3 s faster without it).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


_TABLE = "supervision_tasks"


def upgrade() -> None:
    op.drop_index("ix_tasks_key", table_name=_TABLE)


def downgrade() -> None:
    op.create_index("ix_tasks_key", _TABLE, ["key"], unique=False)
