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

import sqlalchemy as sa

from twores.core.security import Scope
from twores.plugins.sqlalchemy import tables
from twores.plugins.sqlalchemy.backend import SqlStore

WRITER = Path(__file__).with_name("crash_writer.py")
_spec = importlib.util.spec_from_file_location("crash_writer", WRITER)
assert _spec is not None and _spec.loader is not None
crash_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash_writer)
KILLS = 12  # per writer: 24 kills in all
#: Of the import writer's kills, those that land in the first import into an empty table
#: (the bulk load, which drops and rebuilds the indexes), each on a database of its own.
BULK_LOAD_KILLS = 4


def run_and_kill(
    db: Path, mode: str, rng: random.Random, *, in_first_import: bool = False
) -> tuple[int, list[int]]:
    """Start the writer, kill it after a random delay: after its first commit, or (with
    ``in_first_import``) while its first import runs. Returns the number it started from
    and the commits acknowledged."""
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    started = process.stdout.readline()
    assert started.startswith("start"), started
    # wait until it has begun its first import, or committed at least once
    waited = process.stdout.readline()
    assert waited.startswith("importing" if in_first_import else ("ack", "importing")), waited
    if not in_first_import and waited.startswith("importing"):
        waited = process.stdout.readline()
        assert waited.startswith("ack"), waited
    time.sleep(rng.uniform(0.0, 0.25 if in_first_import else 0.4))
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    lines = [waited, *out.splitlines()]
    return int(started.split()[1]), [
        int(line.split()[1]) for line in lines if line.startswith("ack")
    ]


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
    highest = 0
    for _ in range(KILLS):
        first, acks = run_and_kill(db, "ledger", rng)
        # Each run carries on past every commit stored: each of its commits is new.
        assert first > highest and acks, (first, highest, acks)
        highest = acks[-1]
        stored = check_database(db)
        # Commit n sets business n's diners to n; everything acknowledged must be there.
        for n in acks[-51:]:
            assert stored[pool[n % len(pool)].key] == n
        highest = max(highest, *(d or 0 for d in stored.values()))


def test_killed_imports_leave_whole_files_only(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    db = tmp_path / "twores.db"
    files: list[set[str]] = []
    highest = 0
    for _ in range(KILLS - BULK_LOAD_KILLS):
        first, acks = run_and_kill(db, "import", rng)
        assert first == highest + 1 and acks, (first, highest, acks)  # a new file each time
        stored = set(check_database(db))
        while len(files) < acks[-1] + 2:
            files.append({b.key for b in crash_writer.import_file(len(files) + 1)})
        union: set[str] = set()
        prefixes = []
        for keys in files:
            union |= keys
            prefixes.append(set(union))
        # The store holds exactly files 1..m for some m >= the last acknowledged file.
        (m,) = [m for m in range(acks[-1], len(files) + 1) if stored == prefixes[m - 1]]
        highest = m


def test_a_first_import_killed_midway_leaves_nothing_or_the_whole_file(tmp_path: Path) -> None:
    """The bulk load into an empty table drops the indexes and builds them again at the
    end, in the same transaction: a kill leaves the empty table with its indexes, or the
    whole file."""
    rng = random.Random(20261126)
    whole = {b.key for b in crash_writer.import_file(1)}
    for kill in range(BULK_LOAD_KILLS):
        db = tmp_path / f"first-{kill}.db"
        first, acks = run_and_kill(db, "import", rng, in_first_import=True)
        assert first == 1
        stored = set(check_database(db))
        assert stored == whole if acks else stored in (set(), whole), (len(stored), acks)
        store = SqlStore(f"sqlite:///{db}", migrate=False)
        with store.engine.connect() as connection:
            indexes = {i["name"] for i in sa.inspect(connection).get_indexes("businesses")}
        store.close()
        assert indexes == {i.name for i in tables.businesses.indexes}
