"""rankings: each run keeps its kind, its kind of period and the day it counts as of

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:00:00.000000

A run is compared with the latest earlier run of the same parent, kind (ranking, daily
dispatch, weekly bulletin) and kind of period, by the day each counts as of — not with
whatever run was stored last. Runs stored before this revision keep their rows (kind
``ranking``, no day) and are no run's previous one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rankings") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="ranking"))
        batch.add_column(sa.Column("period_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("as_of", sa.Date, nullable=True))
    op.drop_index("ix_rankings_parent", table_name="rankings")
    op.create_index("ix_rankings_previous", "rankings", ["parent", "kind", "period_kind", "as_of"])


def downgrade() -> None:
    op.drop_index("ix_rankings_previous", table_name="rankings")
    op.create_index("ix_rankings_parent", "rankings", ["parent", "created_at"])
    with op.batch_alter_table("rankings") as batch:
        batch.drop_column("as_of")
        batch.drop_column("period_kind")
        batch.drop_column("kind")
