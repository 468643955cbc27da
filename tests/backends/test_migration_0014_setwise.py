"""Migration 0014, set-wise: every problem gets the ``changed_on`` the row-by-row loop it
first shipped with computed (kept here as the oracle), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from twores.core.periods import CHINA_TZ
from twores.plugins.sqlalchemy.backend import SqlStore

_AT = 4


def _oracle(found_on: date, history: str) -> date:
    """0014's first computation, one row at a time in Python."""
    events = json.loads(history)
    return (
        datetime.fromisoformat(events[-1][_AT]).astimezone(CHINA_TZ).date() if events else found_on
    )


def _event(seq: int, at: datetime) -> list[Any]:
    """A stored event as ``rows._event_plain`` writes it."""
    return [seq, "submit", "pending", "干部", at.isoformat(), "备注", ["a.jpg"], None]


_UTC = UTC
_CST = timezone(timedelta(hours=8))
_EDGES = [
    datetime(2025, 7, 1, 15, 59, 59, tzinfo=_UTC),  # 23:59:59 in China: 07-01
    datetime(2025, 7, 1, 16, 0, 0, tzinfo=_UTC),  # 00:00 in China: 07-02
    datetime(2025, 7, 1, 15, 59, 59, 999999, tzinfo=_UTC),
    datetime(2025, 7, 1, 15, 59, 59, 999500, tzinfo=_UTC),  # rounds up at millisecond precision
    datetime(2025, 12, 31, 16, 0, 0, 1, tzinfo=_UTC),  # the new year in China
    datetime(2025, 12, 31, 23, 59, 59, tzinfo=_CST),
    datetime(2026, 1, 1, 0, 0, 0, tzinfo=_CST),
    datetime(2024, 2, 29, 7, 30, tzinfo=timezone(timedelta(hours=-8))),  # 23:30 China
    datetime(2024, 2, 28, 10, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2025, 3, 9, 12, 0, tzinfo=CHINA_TZ),
]


def _histories() -> Iterator[tuple[date, str]]:
    yield date(2025, 6, 30), "[]"  # no step yet: found_on
    yield date(2024, 2, 29), "[]"
    for at in _EDGES:  # one step, at the edge of a China day
        yield date(2025, 1, 1), json.dumps([_event(1, at)], ensure_ascii=False)
    for at in _EDGES:  # several steps, the last one at the edge (earlier ones later in time)
        steps = [_event(1, at + timedelta(days=3)), _event(2, at - timedelta(days=1))]
        steps.append(_event(3, at))
        yield date(2024, 12, 1), json.dumps(steps, ensure_ascii=False)
    rng = random.Random(14)
    start = datetime(2024, 1, 1, tzinfo=_UTC)
    for _ in range(300):
        found = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
        steps = []
        for seq in range(rng.randrange(0, 6)):
            at = start + timedelta(
                seconds=rng.randrange(730 * 86400), microseconds=rng.randrange(2)
            )
            zone = rng.choice([_UTC, _CST, CHINA_TZ, timezone(timedelta(hours=-5))])
            steps.append(_event(seq + 1, at.astimezone(zone)))
        yield found, json.dumps(steps, ensure_ascii=False)


def _row(n: int, found_on: date, history: str) -> dict[str, Any]:
    return {
        "county_code": "450323" if n % 2 else "450304",
        "key": f"P{n:05d}",
        "township_code": None,
        "village_code": None,
        "area_code": "450323101",
        "business_key": f"B{n}",
        "source": "inspection",
        "source_ref": None,
        "description": "问题",
        "severity": "general",
        "found_on": found_on,
        "reporter": "检查员",
        "status": "pending",
        "deadline": None,
        "reminders": 0,
        "escalation": 0,
        "verified_by": None,
        "history": history,
        "row_hash": "0" * 32,
    }


def _upgrade(store: SqlStore, revision: str) -> None:
    with store.engine.begin() as connection:
        command.upgrade(store.alembic_config(connection), revision)


def _check_0014(store: SqlStore) -> None:
    _upgrade(store, "0013")
    problems = sa.Table("problems", sa.MetaData(), autoload_with=store.engine)
    given = [_row(n, found, history) for n, (found, history) in enumerate(_histories())]
    with store.engine.begin() as connection:
        connection.execute(sa.insert(problems), given)
    _upgrade(store, "0014")
    problems = sa.Table("problems", sa.MetaData(), autoload_with=store.engine)
    with store.engine.connect() as connection:
        found = connection.execute(
            sa.select(problems.c.key, problems.c.changed_on, problems.c.row_hash)
        ).all()
    got = {key: (changed_on, row_hash) for key, changed_on, row_hash in found}
    expected = {r["key"]: (_oracle(r["found_on"], r["history"]), "") for r in given}
    assert got == expected
    assert _upgrade(store, "head") is None  # the later migrations take the column as it is


def test_0014_matches_the_row_by_row_computation_on_sqlite(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'old.db'}", migrate=False)
    try:
        _check_0014(store)
    finally:
        store.close()


def test_0014_matches_the_row_by_row_computation_on_postgres(postgres_url: str) -> None:
    far_from_china = "%20-cTimeZone%3DAmerica%2FLos_Angeles"  # the session's zone
    store = SqlStore(postgres_url + far_from_china, migrate=False)
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "America/Los_Angeles"
        _check_0014(store)
    finally:
        store.close()


def test_the_edges_are_really_edges() -> None:
    days = {_oracle(date(2000, 1, 1), json.dumps([_event(1, at)])) for at in _EDGES[:2]}
    assert days == {date(2025, 7, 1), date(2025, 7, 2)}
