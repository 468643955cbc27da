"""ranking runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 04:25:14.978181
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rankings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "parent",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rankings_parent", "rankings", ["parent", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rankings_parent", table_name="rankings")
    op.drop_table("rankings")
