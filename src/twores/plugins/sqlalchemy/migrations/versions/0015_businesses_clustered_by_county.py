"""businesses: on SQLite, rows kept in primary-key order (``WITHOUT ROWID``)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:30:00.000000

Scheduling, KPIs and exports read businesses a county at a time. In a rowid table each
row of a county is found through the primary-key index and then fetched by rowid from
wherever it was first inserted; clustered on ``(county_code, key)`` a county's rows lie
together (a first schedule of 内蒙古 reads its businesses about 0.5 s faster). The table is
copied into its new form with its indexes. PostgreSQL is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _rebuild(*, with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "businesses", recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
    ):
        pass


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
