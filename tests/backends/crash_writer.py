"""A writer to be killed: ledger commits one by one, or whole-file bulk imports.

Run as ``python crash_writer.py DB MODE``; after each commit it prints ``ack <n>`` and
flushes, so the parent knows exactly which commits were acknowledged.
"""

from __future__ import annotations

import sys
from itertools import count

import attrs

from twores.core.businesses import FoodBusiness, Grade
from twores.core.security import Scope
from twores.divisions import demo_region
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.synth import synthetic_businesses

GRADES = (Grade.A, Grade.B, Grade.C, Grade.D)
FILE_ROWS = 3_000


def main(db: str, mode: str) -> None:
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
            else:
                uow.businesses.upsert_many(import_file(n))
            uow.commit()
        print(f"ack {n}", flush=True)


def ledger_pool() -> list[FoodBusiness]:
    return list(synthetic_businesses(demo_region().subtree("450323"), 5_000, seed=5))


def import_file(n: int) -> list[FoodBusiness]:
    """File ``n`` of the import stream: 3,000 rows."""
    return list(synthetic_businesses(demo_region().subtree("450323"), FILE_ROWS, seed=1000 + n))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
