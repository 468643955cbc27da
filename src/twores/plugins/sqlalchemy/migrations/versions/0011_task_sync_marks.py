"""task_sync_marks: what the last scheduling run found per county, to skip unchanged ones

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000

A scheduling run marks each county it scheduled whole with a fingerprint of what it read
there; a later run of the same period skips a county whose fingerprint is unchanged. On
PostgreSQL the table gets the KPI summary's county policy (migration 0009), and every role
granted the KPI summary (an app role, ``twores db grant-app-role``) is granted it too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

AREA = "(SELECT current_setting('twores.scope_area', true))"
COUNTIES = "string_to_array((SELECT current_setting('twores.scope_counties', true)), ',')"
IN_COUNTIES = f"{AREA} = '*' OR county_code = ANY ({COUNTIES})"


def upgrade() -> None:
    code = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")
    op.create_table(
        "task_sync_marks",
        sa.Column("county_code", code, primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("tasks", sa.Integer, nullable=False),
        sa.Column("exempt", sa.Integer, nullable=False),
        sa.Column("unassigned", sa.Integer, nullable=False),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE task_sync_marks ENABLE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY twores_scope ON task_sync_marks "
            f"USING ({IN_COUNTIES}) WITH CHECK ({IN_COUNTIES})"
        )
        granted = op.get_bind().exec_driver_sql(
            "SELECT DISTINCT quote_ident(grantee) FROM information_schema.role_table_grants "
            "WHERE table_schema = current_schema() AND table_name = 'kpi_versions' "
            "AND grantee NOT IN (current_user, 'PUBLIC')"
        )
        for role in granted.scalars():
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON task_sync_marks TO {role}")


def downgrade() -> None:
    op.drop_table("task_sync_marks")
