"""repair what two released migrations, edited after release, left in some databases

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:10:00.000000

Migration 0016 once rebuilt ``ix_tasks_business`` on (business_key, key) and was then put
back to leaving it on the business alone, under the same revision: a database upgraded in
between kept the two-column index (with it SQLite seeks every (business, key) pair of a
batch lookup; a demo year took 325 s instead of 55 s). The index is rebuilt on
``business_key`` when its shape differs, on every dialect; otherwise nothing changes.

Migration 0017 once granted ``sign_in_failures`` to every role holding anything on
``web_users``; it now grants it only to roles that may insert and update ``web_users``
(a reader could otherwise delete lockouts). On PostgreSQL, what 0017 granted (SELECT,
INSERT, DELETE) is revoked from every other role holding it, the owner aside.

The downgrade changes nothing: both shapes repaired are what 0016 and 0017 define.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TASKS, _INDEX, _COLUMNS = "supervision_tasks", "ix_tasks_business", ["business_key"]
_FAILURES = "sign_in_failures"
# the roles 0017 grants the failures to: those granted both INSERT and UPDATE on web_users
_WRITERS = (
    "SELECT quote_ident(grantee) FROM information_schema.role_table_grants "
    "WHERE table_schema = current_schema() AND table_name = 'web_users' "
    "AND grantee NOT IN (current_user, 'PUBLIC') "
    "AND privilege_type IN ('INSERT', 'UPDATE') "
    "GROUP BY grantee HAVING count(DISTINCT privilege_type) = 2"
)
_HOLDERS = (
    "SELECT DISTINCT quote_ident(g.grantee) FROM information_schema.role_table_grants g "
    "WHERE g.table_schema = current_schema() AND g.table_name = 'sign_in_failures' "
    "AND g.grantee NOT IN (current_user, 'PUBLIC') "
    "AND g.privilege_type IN ('SELECT', 'INSERT', 'DELETE') "
    "AND g.grantee <> (SELECT pg_get_userbyid(relowner) FROM pg_class "
    " WHERE oid = to_regclass('sign_in_failures'))"
)


def _rebuild_task_index() -> None:
    found = {i["name"]: i for i in sa.inspect(op.get_bind()).get_indexes(_TASKS)}
    index = found.get(_INDEX)
    if index is not None and list(index["column_names"]) == _COLUMNS and not index["unique"]:
        return
    if index is not None:
        op.drop_index(_INDEX, table_name=_TASKS)
    op.create_index(_INDEX, _TASKS, _COLUMNS, unique=False)


def _revoke_reader_grants() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    writers = set(bind.exec_driver_sql(_WRITERS).scalars())
    for role in sorted(set(bind.exec_driver_sql(_HOLDERS).scalars()) - writers):
        op.execute(f"REVOKE SELECT, INSERT, DELETE ON {_FAILURES} FROM {role}")


def upgrade() -> None:
    _rebuild_task_index()
    _revoke_reader_grants()


def downgrade() -> None:
    pass
