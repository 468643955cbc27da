"""row-level security: a row passes by the ancestor column of the scope's own tier

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 10:05:00.000000

Migration 0009's policy passed a row when the scope's area equalled *any* of its ancestor
codes, so a county session could file a row in another county by writing its own code
into the row's ``township_code`` (or any other tier's column), and see it afterwards. Now
the scope's code must be the row's column of the scope's tier (``twores.scope_tier``: a
county with ``county_code``, a city with ``city_code`` …) and the row's ``county_code``
one of ``twores.scope_counties`` (the scope's subtree down to county level, so the policy
stays sargable on the Citus distribution column). The root scope ``*`` still passes every
row; unset settings match nothing. The KPI tables' county policies are unchanged.
PostgreSQL only; the downgrade restores 0009's policy.
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
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
AREA = "(SELECT current_setting('twores.scope_area', true))"
TIER = "(SELECT current_setting('twores.scope_tier', true))"
COUNTIES = "string_to_array((SELECT current_setting('twores.scope_counties', true)), ',')"
# the row's code at the scope's tier (NULL for an unknown or unset tier)
TIER_CODE = (
    f"CASE {TIER} WHEN 'province' THEN province_code WHEN 'city' THEN city_code"
    " WHEN 'county' THEN county_code WHEN 'township' THEN township_code"
    " WHEN 'village' THEN village_code END"
)
IN_SUBTREE = f"{AREA} = '*' OR (county_code = ANY ({COUNTIES}) AND {TIER_CODE} = {AREA})"
# migration 0009's policy, for the downgrade
IN_SCOPE = f"{AREA} IN ('*', province_code, city_code, county_code, township_code, village_code)"


def _police(check: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in HOT:
        op.execute(f"ALTER POLICY twores_scope ON {table} USING ({check}) WITH CHECK ({check})")


def upgrade() -> None:
    _police(IN_SUBTREE)


def downgrade() -> None:
    _police(IN_SCOPE)
