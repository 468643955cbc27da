"""A writer to be killed: ledger commits one by one, or whole ledger files imported by the
import service (each file one transaction, into an empty table a bulk load).

Run as ``python crash_writer.py DB MODE``. It numbers its commits on from the last one
stored (``start <n>`` names its first), so every commit writes something new; it prints
``importing <n>`` as an import begins and ``ack <n>`` after each commit, flushed, so the
parent knows exactly which commits were acknowledged.
"""

from __future__ import annotations

import sqlite3
import sys
from itertools import count
from pathlib import Path

import attrs

import twores
from twores.core.businesses import FoodBusiness, Grade
from twores.core.security import Scope
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.exports import BUSINESS_HEADERS, business_row, write_table
from twores.services.exports import _Masker as Masker
from twores.services.imports import import_file as import_ledger
from twores.services.synth import synthetic_businesses

GRADES = (Grade.A, Grade.B, Grade.C, Grade.D)
FILE_ROWS = 3_000


def main(db: str, mode: str) -> None:
    app = twores.build(load_entrypoints=False)
    store = SqlStore(f"sqlite:///{db}")
    hierarchy = demo_region().subtree("450323")
    scope = Scope.system("crash-test")
    with store.unit_of_work(scope) as uow:
        uow.areas.upsert_many(hierarchy)
        uow.commit()
    pool = ledger_pool()
    # Carry on from what is stored, so every commit writes something new (a lost
    # acknowledged commit cannot hide behind the same value written by an earlier run).
    first = stored_high(db, mode) + 1
    print(f"start {first}", flush=True)
    for n in count(first):
        if mode == "ledger":
            with store.unit_of_work(scope) as uow:
                business = attrs.evolve(pool[n % len(pool)], grade=GRADES[n % 4], diners=n)
                uow.businesses.upsert_many([business])
                uow.commit()
        else:  # the import service itself, one file a transaction (the first a bulk load)
            path = ledger_file(Path(db).parent, n)
            print(f"importing {n}", flush=True)
            report = import_ledger(app, store, scope, "businesses", path)
            assert report.accepted, report.errors[:3]
        print(f"ack {n}", flush=True)


def stored_high(db: str, mode: str) -> int:
    """The last commit stored: the highest diners (ledger), the highest file imported."""
    connection = sqlite3.connect(db)
    try:
        if mode == "ledger":
            (high,) = connection.execute("SELECT max(diners) FROM businesses").fetchone()
            return int(high or 0)
        names = connection.execute("SELECT file_name FROM import_batches").fetchall()
    finally:
        connection.close()
    return max((int(name.split("-")[1].split(".")[0]) for (name,) in names), default=0)


def ledger_pool() -> list[FoodBusiness]:
    return list(synthetic_businesses(demo_region().subtree("450323"), 5_000, seed=5))


def import_file(n: int) -> list[FoodBusiness]:
    """File ``n`` of the import stream: 3,000 rows."""
    return list(synthetic_businesses(demo_region().subtree("450323"), FILE_ROWS, seed=1000 + n))


def ledger_file(folder: Path, n: int) -> Path:
    """File ``n`` as the ledger CSV an office would import."""
    path = folder / f"ledger-{n}.csv"
    rows = [business_row(b, Masker(True)) for b in import_file(n)]
    write_table(path, BUSINESS_HEADERS, rows)
    return path


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
