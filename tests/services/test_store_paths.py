"""An SQLite file given by path opens that very file, whatever its name holds (``%xx``,
``?``, ``#``, spaces, Chinese): SQLAlchemy decodes ``%xx`` and reads ``?`` as a query."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.divisions import demo_region
from twores.services.stores import database_url, open_store, sqlite_path, sqlite_url

NAMES = ["a%20b.db", "x?mode=ro.db", "h#1.db", "数据 库.db", "p%2520q?r#s 数.db"]


@pytest.mark.parametrize("name", NAMES)
def test_a_path_opens_exactly_that_file(tmp_path: Path, name: str) -> None:
    app = twores.build(load_entrypoints=False)
    folder = tmp_path / "odd"
    folder.mkdir()
    path = folder / name
    areas = demo_region().subtree("450323")
    store = open_store(app, str(path))
    try:
        with store.unit_of_work(twores.Scope.system()) as uow:
            uow.areas.upsert_many(areas)
            uow.commit()
    finally:
        store.close()
    assert path.is_file()
    # no other database made beside it (only SQLite's own -wal/-shm/-journal files)
    assert all(p.name.startswith(name) for p in folder.iterdir()), sorted(folder.iterdir())
    again = open_store(app, str(path))
    try:
        with again.unit_of_work(twores.Scope.system()) as uow:
            assert len(list(uow.areas.hierarchy())) == len(list(areas))
    finally:
        again.close()
    assert all(p.name.startswith(name) for p in folder.iterdir())


@pytest.mark.parametrize("name", [*NAMES, "plain.db", "a+b.db"])
def test_the_url_of_a_path_names_that_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    url = database_url(str(path))
    assert url == sqlite_url(path)
    assert sqlite_path(url) == path
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    assert parsed.database == str(path) and not parsed.query


def test_urls_are_taken_as_written() -> None:
    assert database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert sqlite_path("postgresql://u@h/db") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("sqlite:////t/a%2520b.db?timeout=5") == Path("/t/a%20b.db")
