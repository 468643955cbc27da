"""A writer to be killed: ledger commits one by one, or whole ledger files imported by the
import service (each file one transaction, into an empty table a bulk load).

Run as ``python crash_writer.py DB MODE``; after each commit it prints ``ack <n>`` and
flushes, so the parent knows exactly which commits were acknowledged.
"""

from __future__ import annotations

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
    for n in count(1):
        with store.unit_of_work(scope) as uow:
            if mode == "ledger":
                business = attrs.evolve(pool[n % len(pool)], grade=GRADES[n % 4], diners=n)
                uow.businesses.upsert_many([business])
                uow.commit()
        if mode != "ledger":  # the import service itself, one file a transaction
            path = ledger_file(Path(db).parent, n)
            report = import_ledger(app, store, scope, "businesses", path)
            assert report.accepted, report.errors[:3]
        print(f"ack {n}", flush=True)


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
