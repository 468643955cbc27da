"""twores_filed_counties(): where keyed records are filed, whoever asks

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 17:30:00.000000

Under row-level security an app role sees only its scope's rows, so a business or cadre
stored in another county looked absent and an import inserted it again, under the same key
in a second county (uniqueness holds per county, as Citus requires). This function runs as
the tables' owner (SECURITY DEFINER) and tells only where given keys are filed, so a write
can refuse them as outside the caller's jurisdiction. PostgreSQL only; executable by the
roles that write businesses (an app role, ``twores db grant-app-role``), not by PUBLIC.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

FUNCTION = "twores_filed_counties(text, text[])"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    op.execute(
        f"""
        CREATE FUNCTION twores_filed_counties(kind text, keys text[])
        RETURNS TABLE (key text, county_code text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema} AS $$
            SELECT b.key, b.county_code FROM businesses b
             WHERE kind = 'business' AND b.key = ANY (keys)
            UNION ALL
            SELECT c.id, c.county_code FROM cadres c
             WHERE kind = 'cadre' AND c.id = ANY (keys)
        $$
        """
    )
    op.execute(f"REVOKE EXECUTE ON FUNCTION {FUNCTION} FROM PUBLIC")
    writers = op.get_bind().exec_driver_sql(
        "SELECT quote_ident(grantee) FROM information_schema.role_table_grants "
        "WHERE table_schema = current_schema() AND table_name = 'businesses' "
        "AND grantee NOT IN (current_user, 'PUBLIC') AND privilege_type = 'INSERT'"
    )
    for role in writers.scalars():
        op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {role}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
