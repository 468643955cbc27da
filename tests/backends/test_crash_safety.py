"""SIGKILL writers at random moments: the database stays consistent, nothing acked is lost."""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from twores.core.security import Scope
from twores.plugins.sqlalchemy.backend import SqlStore

WRITER = Path(__file__).with_name("crash_writer.py")
_spec = importlib.util.spec_from_file_location("crash_writer", WRITER)
assert _spec is not None and _spec.loader is not None
crash_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash_writer)
KILLS = 12  # per writer: 24 kills in all


def run_and_kill(db: Path, mode: str, rng: random.Random) -> int:
    """Start the writer, kill it after a random delay; return the last acknowledged commit."""
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    first = process.stdout.readline()  # wait until it has committed at least once
    assert first.startswith("ack"), first
    time.sleep(rng.uniform(0.0, 0.4))
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    acks = [int(line.split()[1]) for line in [first, *out.splitlines()] if line.startswith("ack")]
    return max(acks)


def check_database(db: Path) -> dict[str, int | None]:
    """Integrity, an intact audit chain; returns key -> diners of every stored business."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = dict(connection.execute("SELECT key, diners FROM businesses").fetchall())
    finally:
        connection.close()
    store = SqlStore(f"sqlite:///{db}", migrate=False)
    with store.unit_of_work(Scope.system()) as uow:
        assert uow.audit.verify() == []
    store.close()
    return stored


def test_killed_ledger_commits_are_never_lost(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    db = tmp_path / "twores.db"
    pool = crash_writer.ledger_pool()
    for _ in range(KILLS):
        acknowledged = run_and_kill(db, "ledger", rng)
        stored = check_database(db)
        # Commit n sets business n's diners to n; everything acknowledged must be there.
        for n in range(max(1, acknowledged - 50), acknowledged + 1):
            assert stored[pool[n % len(pool)].key] == n


def test_killed_imports_leave_whole_files_only(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    db = tmp_path / "twores.db"
    files: list[set[str]] = []
    highest = 0
    for _ in range(KILLS):
        highest = max(highest, run_and_kill(db, "import", rng))
        stored = set(check_database(db))
        while len(files) < highest + 2:
            files.append({b.key for b in crash_writer.import_file(len(files) + 1)})
        union: set[str] = set()
        prefixes = []
        for keys in files:
            union |= keys
            prefixes.append(set(union))
        # The store holds exactly files 1..m for some m >= the last acknowledged file.
        assert any(stored == prefix for prefix in prefixes[highest - 1 :])
