"""kpi summary: change versions per county, KPI states and counts per county

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _code(length: int = 32) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("county_code", _code(), nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "kpi_versions",
        sa.Column("county_code", _code(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "source"),
    )
    op.create_table(
        "kpi_states",
        *_key(),
        sa.Column("counter", sa.String(length=300), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "kpi", "period", "as_of"),
    )
    op.create_table(
        "kpi_summary",
        *_key(),
        sa.Column("area_code", _code(), nullable=False),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "kpi", "period", "as_of", "area_code"),
    )


def downgrade() -> None:
    op.drop_table("kpi_summary")
    op.drop_table("kpi_states")
    op.drop_table("kpi_versions")
