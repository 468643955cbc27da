"""Opening a store from a URL through the storage backend plugins."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from twores.bootstrap import Twores
from twores.core.areas import Hierarchy
from twores.core.errors import PluginError
from twores.core.ports import Store
from twores.core.security import Scope

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
    return value if "://" in value else f"sqlite:///{Path(value).resolve()}"


def _stored_areas(store: Store) -> Hierarchy:
    with store.unit_of_work(Scope.system("rules: area paths")) as uow:
        return uow.areas.hierarchy()


def shown_url(url: str) -> str:
    """``url`` fit to print: any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}{sep}{user}:***@{host}" if sep and at and colon else url


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
