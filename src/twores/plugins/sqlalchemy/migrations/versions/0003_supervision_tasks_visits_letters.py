"""supervision tasks, visits, letters

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 03:22:29.388438
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letters",
        sa.Column(
            "county_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
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
            "cadre_id",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("list_hash", sa.String(length=64), nullable=False),
        sa.Column("businesses", sa.Integer(), nullable=False),
        sa.Column("generated_on", sa.Date(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("counterparty", sa.String(length=100), nullable=True),
        sa.Column("scan_sha256", sa.String(length=64), nullable=True),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "key"),
    )
    op.create_index("ix_letters_cadre", "letters", ["cadre_id"], unique=False)
    op.create_index("ix_letters_key", "letters", ["key"], unique=False)
    op.create_table(
        "supervision_tasks",
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
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "cadre_id",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("exempt_reason", sa.String(length=200), nullable=True),
        sa.Column(
            "visit_id",
            sa.String(length=160).with_variant(sa.String(length=160, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "credited_to",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "key"),
    )
    op.create_index("ix_tasks_business", "supervision_tasks", ["business_key"], unique=False)
    op.create_index(
        "ix_tasks_cadre", "supervision_tasks", ["county_code", "cadre_id"], unique=False
    )
    op.create_index("ix_tasks_key", "supervision_tasks", ["key"], unique=False)
    op.create_index(
        "ix_tasks_period", "supervision_tasks", ["period_start", "period_end"], unique=False
    )
    op.create_index("ix_tasks_township", "supervision_tasks", ["township_code"], unique=False)
    op.create_table(
        "visits",
        sa.Column(
            "county_code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "key",
            sa.String(length=160).with_variant(sa.String(length=160, collation="C"), "postgresql"),
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
        sa.Column(
            "cadre_id",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("checklist", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("late_reason", sa.String(length=500), nullable=True),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "key"),
    )
    op.create_index("ix_visits_business", "visits", ["business_key", "visited_on"], unique=False)
    op.create_index("ix_visits_cadre", "visits", ["county_code", "cadre_id"], unique=False)
    op.create_index("ix_visits_key", "visits", ["key"], unique=False)
    op.create_index("ix_visits_township", "visits", ["township_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_visits_township", table_name="visits")
    op.drop_index("ix_visits_key", table_name="visits")
    op.drop_index("ix_visits_cadre", table_name="visits")
    op.drop_index("ix_visits_business", table_name="visits")
    op.drop_table("visits")
    op.drop_index("ix_tasks_township", table_name="supervision_tasks")
    op.drop_index("ix_tasks_period", table_name="supervision_tasks")
    op.drop_index("ix_tasks_key", table_name="supervision_tasks")
    op.drop_index("ix_tasks_cadre", table_name="supervision_tasks")
    op.drop_index("ix_tasks_business", table_name="supervision_tasks")
    op.drop_table("supervision_tasks")
    op.drop_index("ix_letters_key", table_name="letters")
    op.drop_index("ix_letters_cadre", table_name="letters")
    op.drop_table("letters")
