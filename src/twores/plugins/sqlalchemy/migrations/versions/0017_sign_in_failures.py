"""sign_in_failures: failed sign-ins, counted by the sign-in throttle

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 07:00:00.000000

One row per failed sign-in (the username tried, the client address, when), kept while the
throttle's window counts it, so that every process serving the web app counts the same
failures. On PostgreSQL every role that may add and change ``web_users`` (an app role,
``twores db grant-app-role``) may read, add and delete them; a role that only reads
``web_users`` gets nothing here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TABLE = "sign_in_failures"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("failed_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_sign_in_failures_username", _TABLE, ["username", "failed_at"])
    op.create_index("ix_sign_in_failures_client", _TABLE, ["client", "failed_at"])
    op.create_index("ix_sign_in_failures_failed_at", _TABLE, ["failed_at"])
    if op.get_context().dialect.name == "postgresql":
        # the roles that sign users in (an app role writes web_users), not a reader of it
        granted = op.get_bind().exec_driver_sql(
            "SELECT quote_ident(grantee) FROM information_schema.role_table_grants "
            "WHERE table_schema = current_schema() AND table_name = 'web_users' "
            "AND grantee NOT IN (current_user, 'PUBLIC') "
            "AND privilege_type IN ('INSERT', 'UPDATE') "
            "GROUP BY grantee HAVING count(DISTINCT privilege_type) = 2"
        )
        for role in granted.scalars():
            op.execute(f"GRANT SELECT, INSERT, DELETE ON {_TABLE} TO {role}")


def downgrade() -> None:
    op.drop_table(_TABLE)
