"""businesses: looked up by credit code (统一社会信用代码)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 07:30:00.000000

A ledger row without a licence number names its business by credit code; the import
finds the licensed business stored under that code (``ix_businesses_uscc``) instead of
filing the same business a second time under its code.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_businesses_uscc", "businesses", ["uscc"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_businesses_uscc", table_name="businesses")
