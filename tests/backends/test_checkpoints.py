"""The SQLite store checkpoints its write-ahead log in a thread of its own."""

from __future__ import annotations

import os
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import twores
from twores.plugins.sqlalchemy import checkpoints
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.plugins.sqlalchemy.checkpoints import THRESHOLD_BYTES

ADMIN = twores.Scope("test", twores.Role.ADMIN)


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
    thread = store.checkpointer._thread
    store.close()
    assert thread is not None and not thread.is_alive()
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


def test_a_relative_path_is_checkpointed_after_a_change_of_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqlStore("sqlite:///relative.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = tmp_path / "relative.db"
    before = path.stat().st_size
    _write(store, 4 * THRESHOLD_BYTES)
    assert store.checkpointer is not None
    store.checkpointer.committed()
    assert _wait_for(lambda: path.stat().st_size > before + 3 * THRESHOLD_BYTES)
    store.close()


def test_the_log_shrinks_back_once_checkpointed(tmp_path: Path) -> None:
    """So its size keeps telling how much waits: small commits after a large one do not
    each wake the checkpointer."""
    path = tmp_path / "twores.db"
    store = SqlStore(f"sqlite:///{path}")
    assert store.checkpointer is not None
    _write(store, 4 * THRESHOLD_BYTES)
    store.checkpointer.committed()
    log = Path(f"{path}-wal")
    assert _wait_for(lambda: path.stat().st_size > 3 * THRESHOLD_BYTES)
    store.checkpointer.close()  # waits for the checkpoint under way to finish
    _write(store, 10_000)  # restarts the log from its beginning, truncated to the limit
    assert log.stat().st_size <= THRESHOLD_BYTES
    store.close()


def test_a_failed_checkpoint_does_not_stop_later_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "twores.db"
    store = SqlStore(f"sqlite:///{path}")
    checkpointer = store.checkpointer
    assert checkpointer is not None
    failures = []
    connect = sqlite3.connect

    class Failing:
        """A connection whose first checkpoint fails (a disk error, say)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.inner = connect(*args, **kwargs)

        def execute(self, sql: str) -> Any:
            if "wal_checkpoint" in sql and not failures:
                failures.append(sql)
                raise sqlite3.OperationalError("disk I/O error")
            return self.inner.execute(sql)

        def close(self) -> None:
            self.inner.close()

    monkeypatch.setattr(checkpoints.sqlite3, "connect", Failing)
    before = path.stat().st_size
    _write(store, 4 * THRESHOLD_BYTES)
    checkpointer.committed()
    assert _wait_for(lambda: bool(failures))
    _write(store, 10_000)
    checkpointer.committed()
    assert _wait_for(lambda: path.stat().st_size > before + 3 * THRESHOLD_BYTES)
    store.close()


def test_a_commit_after_close_starts_the_checkpointer_again(tmp_path: Path) -> None:
    path = tmp_path / "twores.db"
    store = SqlStore(f"sqlite:///{path}")
    assert store.checkpointer is not None
    store.close()
    before = path.stat().st_size
    _write(store, 4 * THRESHOLD_BYTES)  # the engine opens new connections
    store.checkpointer.committed()
    assert _wait_for(lambda: path.stat().st_size > before + 3 * THRESHOLD_BYTES)
    store.close()


def test_a_forked_process_starts_a_checkpointer_of_its_own(tmp_path: Path) -> None:
    """A child forked while the parent's thread ran inherits no thread: its first large
    commit starts one (the parent's would never wake in the child)."""
    path = tmp_path / "twores.db"
    store = SqlStore(f"sqlite:///{path}")
    checkpointer = store.checkpointer
    assert checkpointer is not None
    _write(store, 4 * THRESHOLD_BYTES)
    checkpointer.committed()
    parents, parents_wake = checkpointer._thread, checkpointer._wake
    assert parents is not None and parents.is_alive()
    checkpoints._after_fork(weakref.ref(checkpointer))  # what os.fork runs in the child
    checkpointer.committed()
    assert checkpointer._thread is not parents and checkpointer._thread.is_alive()
    checkpointer.close()
    parents_wake.set()  # stops the "parent's" thread too
    parents.join()
    store.close()


def test_claiming_the_writer_after_other_statements_is_refused(tmp_path: Path) -> None:
    """Beginning again would silently drop what the unit of work did before."""
    store = SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")
    with store.unit_of_work(ADMIN) as uow:
        uow.connection.exec_driver_sql("CREATE TEMP TABLE scratch (x INTEGER)")
        with pytest.raises(RuntimeError, match="claim_writer"):
            uow.claim_writer("twores.test")
    with store.unit_of_work(ADMIN) as uow:
        uow.claim_writer("twores.test")  # only read so far: begins again, immediate
        uow.connection.exec_driver_sql("CREATE TABLE kept (x INTEGER)")
        uow.commit()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM kept").scalar() == 0
    store.close()
