"""enterprise duty records

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:44:33.315224
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_records",
        sa.Column(
            "county_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "key",
            sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql"),
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
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("by_role", sa.String(length=16), nullable=False),
        sa.Column("by_name", sa.String(length=100), nullable=False),
        sa.Column("zero_risk", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "key"),
    )
    op.create_index("ix_duties_business", "duty_records", ["business_key", "on_day"], unique=False)
    op.create_index("ix_duties_key", "duty_records", ["key"], unique=False)
    op.create_index("ix_duties_township", "duty_records", ["township_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_duties_township", table_name="duty_records")
    op.drop_index("ix_duties_key", table_name="duty_records")
    op.drop_index("ix_duties_business", table_name="duty_records")
    op.drop_table("duty_records")
