"""The SQLAlchemy storage backend (SQLite by default, PostgreSQL in production).

This module only registers the backend; SQLAlchemy is imported when a store is opened.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from twores.plugins import hookimpl
from twores.plugins.records import BackendSpec


def open_sql_store(url: str, **options: Any) -> Any:
    import sqlalchemy.exc

    from twores.core.errors import StoreUnavailableError
    from twores.plugins.sqlalchemy.backend import SqlStore

    try:
        return SqlStore(url, **options)
    except sqlalchemy.exc.DatabaseError as error:  # no server, no folder, not a database
        where = unquote(sqlalchemy.engine.make_url(url).render_as_string(hide_password=True))
        reason = str(error.orig or error).strip().splitlines()[0]
        if "not a database" in reason:
            reason = f"不是 SQLite 数据库文件 / {reason}"
        raise StoreUnavailableError(where, reason) from error


@hookimpl
def twores_storage_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            "sqlalchemy",
            "SQLite / PostgreSQL（SQLAlchemy）",
            "SQLite / PostgreSQL (SQLAlchemy)",
            open_sql_store,
            schemes=("sqlite", "postgresql", "postgresql+psycopg"),
        )
    ]


@hookimpl
def twores_user_repository(unit_of_work: Any) -> Any:
    if type(unit_of_work).__module__ != "twores.plugins.sqlalchemy.backend":
        return None  # another backend's unit of work: leave SQLAlchemy unimported
    from twores.plugins.sqlalchemy.users import SqlUserRepository

    return SqlUserRepository(unit_of_work)


@hookimpl
def twores_sign_in_failures(unit_of_work: Any) -> Any:
    if type(unit_of_work).__module__ != "twores.plugins.sqlalchemy.backend":
        return None
    from twores.plugins.sqlalchemy.users import SqlSignInFailures

    return SqlSignInFailures(unit_of_work)
