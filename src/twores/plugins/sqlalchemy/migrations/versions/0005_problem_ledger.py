"""problem ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 04:16:45.228194
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column(
            "county_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "key",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "province_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "city_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "township_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "village_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "area_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "business_key",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("reporter", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("verified_by", sa.String(length=100), nullable=True),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "key"),
    )
    op.create_index("ix_problems_business", "problems", ["business_key"], unique=False)
    op.create_index("ix_problems_key", "problems", ["key"], unique=False)
    op.create_index(
        "ix_problems_status", "problems", ["county_code", "status", "deadline"], unique=False
    )
    op.create_index("ix_problems_township", "problems", ["township_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_problems_township", table_name="problems")
    op.drop_index("ix_problems_status", table_name="problems")
    op.drop_index("ix_problems_key", table_name="problems")
    op.drop_index("ix_problems_business", table_name="problems")
    op.drop_table("problems")
