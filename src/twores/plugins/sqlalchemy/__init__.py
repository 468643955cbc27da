"""The SQLAlchemy storage backend (SQLite by default, PostgreSQL in production).

This module only registers the backend; SQLAlchemy is imported when a store is opened.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from twores.plugins import hookimpl
from twores.plugins.records import BackendSpec

#: ``scheme://`` and ``user:password@`` as SQLAlchemy's ``make_url`` reads them: the
#: password runs to the first ``@`` (it may hold ``/``, ``?`` or ``:``).
_CREDENTIALS = re.compile(r"(?P<head>[\w+.-]+://(?P<user>[^:/@]*)):(?P<password>[^@]*)@")


def shown_url(url: str) -> str:
    """``url`` fit to print or log: its password, and the value of every query parameter
    whose name holds "password" (libpq's ``password``, ``sslpassword``), as ``***``."""
    if "://" not in url:
        return url
    credentials = _CREDENTIALS.match(url)
    if credentials is not None:
        head = credentials.group("head")
        url = f"{head}:***@{url[credentials.end() :]}"
    base, question, query = url.partition("?")
    if not question:
        return url
    parts = []
    for part in re.split("([&;])", query):
        key, equals, _ = part.partition("=")
        secret = equals and "password" in unquote(key).lower()
        parts.append(f"{key}=***" if secret else part)
    return f"{base}?{''.join(parts)}"


def open_sql_store(url: str, **options: Any) -> Any:
    import sqlalchemy.exc

    from twores.core.errors import StoreUnavailableError
    from twores.plugins.sqlalchemy.backend import SqlStore

    try:
        return SqlStore(url, **options)
    except sqlalchemy.exc.DatabaseError as error:  # no server, no folder, not a database
        where = shown_url(url)
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
