"""assignments: an index covering the coverage KPI's lookup (business key and validity)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00.000000

The KPI recount asks, per in-scope business, whether an assignment holds it on a day:
with the validity in the index that is one index search, not a search and a row read.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_assignments_held",
        "assignments",
        ["county_code", "business_key", "valid_from", "valid_to"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_held", table_name="assignments")
