"""PostgreSQL: the audit log's before/after and ranking payloads compressed with LZ4

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 07:40:00.000000

A bulk write's audit entry holds a chunk of 1,000 records (about 170 KB of JSON). With
the default ``pglz``, compressing them cost the server 0.46-0.55 s of a 200k-row import
into PostgreSQL (4.4 s in all); with ``lz4`` 0.11 s, for 11 MB stored instead of 9.9 MB.
``twores audit verify`` reads them back faster too. Only values written after the upgrade
are compressed the new way; older ones stay readable as they are.

Nothing changes on SQLite, or on a PostgreSQL server built without LZ4 (before 14, or
``--without-lz4``). ``SET COMPRESSION`` changes only the catalogue: no rewrite, a brief
ACCESS EXCLUSIVE lock on each table; Citus (10.2 and later) passes it on to the shards.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

COLUMNS = {"audit_log": ("before", "after"), "rankings": ("payload",)}


def _lz4_available() -> bool:
    if op.get_context().dialect.name != "postgresql":
        return False
    offered = op.get_bind().exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    return "lz4" in (offered.scalar() or ())


def _compress(method: str) -> None:
    if not _lz4_available():
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN "{c}" SET COMPRESSION {method}' for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _compress("lz4")


def downgrade() -> None:
    _compress("pglz")
