"""row-level security on PostgreSQL: hot tables by ancestor codes, KPI summary by county

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000

A row passes when the transaction's ``twores.scope_area`` is ``*`` (root scope) or one of
the row's ancestor codes; a KPI summary row when its county is listed in
``twores.scope_counties``. Unset settings match nothing. Table owners and superusers
bypass RLS; the app connects as a role that owns no table (``twores db grant-app-role``).
No-op on SQLite.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

HOT = (
    "businesses",
    "cadres",
    "assignments",
    "supervision_tasks",
    "visits",
    "letters",
    "duty_records",
    "problems",
)
KPI = ("kpi_versions", "kpi_states", "kpi_summary")
AREA = "(SELECT current_setting('twores.scope_area', true))"
COUNTIES = "string_to_array((SELECT current_setting('twores.scope_counties', true)), ',')"
IN_SCOPE = f"{AREA} IN ('*', province_code, city_code, county_code, township_code, village_code)"
IN_COUNTIES = f"{AREA} = '*' OR county_code = ANY ({COUNTIES})"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for tables, check in ((HOT, IN_SCOPE), (KPI, IN_COUNTIES)):
        for table in tables:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY twores_scope ON {table} USING ({check}) WITH CHECK ({check})"
            )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in (*HOT, *KPI):
        op.execute(f"DROP POLICY IF EXISTS twores_scope ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
