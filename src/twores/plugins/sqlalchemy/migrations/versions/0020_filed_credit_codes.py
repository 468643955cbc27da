"""twores_filed_counties(): also where credit codes are filed

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:50:00.000000

A ledger row without a licence number names its business by credit code; when that
business is stored in a county the app role cannot see (row-level security), the import
must refuse the row rather than file the business again under its code. The function now
also answers ``kind = 'uscc'``: the codes given that some business is stored with, and
where. Its grants are kept (CREATE OR REPLACE).
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_KEYS = """
            SELECT b.key, b.county_code FROM businesses b
             WHERE kind = 'business' AND b.key = ANY (keys)
            UNION ALL
            SELECT c.id, c.county_code FROM cadres c
             WHERE kind = 'cadre' AND c.id = ANY (keys)"""
_CODES = """
            UNION ALL
            SELECT b.uscc, b.county_code FROM businesses b
             WHERE kind = 'uscc' AND b.uscc = ANY (keys)"""


def _replace(body: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION twores_filed_counties(kind text, keys text[])
        RETURNS TABLE (key text, county_code text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema} AS $${body}
        $$
        """
    )


def upgrade() -> None:
    _replace(_KEYS + _CODES)


def downgrade() -> None:
    _replace(_KEYS)
