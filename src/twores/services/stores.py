"""Opening a store from a URL through the storage backend plugins."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from urllib.parse import unquote

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy
from twores.core.errors import PluginError, StoreUnavailableError
from twores.core.ports import Store
from twores.core.security import Scope
from twores.plugins.sqlalchemy import shown_url as shown_url  # one masking, for every layer

DB_ENV = "TWORES_DB"
DEFAULT_DB_FILE = "twores.db"


def default_url() -> str:
    """``TWORES_DB`` (a URL or an SQLite file's path), else the SQLite file ``twores.db``
    in the working folder."""
    return _as_url(os.environ.get(DB_ENV) or DEFAULT_DB_FILE)


def database_url(value: str | None) -> str:
    """A URL from what a user typed: a URL, or a path to an SQLite file."""
    return _as_url(value) if value else default_url()


def _as_url(value: str) -> str:
    return value if "://" in value else sqlite_url(value)


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of the SQLite file ``path`` (made absolute), whatever its name.

    SQLAlchemy decodes ``%xx`` in a URL's database part and reads a ``?`` as the start of
    its query: ``a%20b.db`` would open ``a b.db``, ``x?mode=ro.db`` the file ``x``. So
    those two are escaped (``%25``, ``%3F``), and only those: every other character, a
    space or a Chinese one, stays as written (see :func:`sqlite_path`)."""
    text = str(Path(path).resolve())
    return "sqlite:///" + text.replace("%", "%25").replace("?", "%3F")


def sqlite_path(url: str) -> Path | None:
    """The file an SQLite URL names, as SQLAlchemy reads it (``%xx`` decoded, up to the
    query): None for other databases, in-memory SQLite and ``file:`` URIs. The inverse
    of :func:`sqlite_url`."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.split("+", 1)[0] != "sqlite":
        return None
    path = unquote(rest.split("?", 1)[0])
    return None if not path or path == ":memory:" or path.startswith("file:") else Path(path)


def _stored_areas(store: Store) -> Hierarchy:
    with store.unit_of_work(Scope.system("rules: area paths")) as uow:
        return uow.areas.hierarchy()


def _driver_failure(error: BaseException) -> bool:
    """A database driver's failure to reach, keep or read the database (SQLAlchemy's
    OperationalError or InterfaceError, or a bare DatabaseError: "file is not a database")."""
    exc = sys.modules.get("sqlalchemy.exc")  # loaded only once a store was opened
    if exc is None:
        return False
    return isinstance(error, exc.OperationalError | exc.InterfaceError) or (
        type(error) is exc.DatabaseError
    )


def write_conflict(error: BaseException) -> bool:
    """Whether ``error`` is a write that conflicted with another at the same time
    (PostgreSQL SQLSTATE 40xxx: a serialization failure, a deadlock): nothing was changed,
    and trying again may succeed."""
    orig = getattr(error, "orig", None) or error
    state = str(getattr(orig, "sqlstate", "") or "")
    return _driver_failure(error) and state.startswith("40")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be used now: a server that does not
    answer or dropped the connection, an SQLite file that cannot be opened or read, a
    store that could not be opened. Not a :func:`write_conflict`."""
    if isinstance(error, StoreUnavailableError):
        return True
    return _driver_failure(error) and not write_conflict(error)


def open_store(app: Twores, url: str | None = None, **options: object) -> Store:
    """Open ``url`` (see :func:`database_url`) with the backend that serves its scheme; the
    app's rules then find a development zone's region among the store's areas."""
    target = database_url(url)
    scheme = target.split("://", 1)[0].split("+", 1)[0]
    for spec in app.plugins.storage_backends().values():
        if scheme in spec.schemes:
            store: Store = spec.open(target, **options)
            app.plugins.areas_source = functools.partial(_stored_areas, store)
            return store
    raise PluginError(
        f"没有存储后端支持“{scheme}”地址",
        f"no storage backend serves '{scheme}' URLs",
    )
