"""The SQLite store checkpoints its write-ahead log in a thread of its own."""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from twores.plugins.sqlalchemy.backend import SqlStore
from twores.plugins.sqlalchemy.checkpoints import THRESHOLD_BYTES


def _write(store: SqlStore, size: int) -> None:
    with store.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (value BLOB)")
        connection.execute(
            sa.text("INSERT INTO filler VALUES (:value)"),
            [{"value": os.urandom(1000)} for _ in range(size // 1000)],
        )


def _wait_for(condition: object, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_large_commit_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "twores.db"
    store = SqlStore(f"sqlite:///{path}")
    assert store.checkpointer is not None
    before = path.stat().st_size
    _write(store, 4 * THRESHOLD_BYTES)
    assert path.stat().st_size == before  # not by the committing connection
    store.checkpointer.committed()  # what every unit of work's commit calls
    assert _wait_for(lambda: path.stat().st_size > before + 3 * THRESHOLD_BYTES)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM filler").scalar() == 16_384
    store.close()
    assert not store.checkpointer._thread or not store.checkpointer._thread.is_alive()
    assert not Path(f"{path}-wal").exists()  # the last connection checkpointed the rest


def test_a_small_commit_starts_no_thread(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")
    assert store.checkpointer is not None
    _write(store, 10_000)
    store.checkpointer.committed()
    assert store.checkpointer._thread is None
    store.close()


def test_an_in_memory_store_has_no_checkpointer() -> None:
    store = SqlStore("sqlite://")
    assert store.checkpointer is None
    store.close()
