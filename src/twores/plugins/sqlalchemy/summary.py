"""The KPI summary: per-county change versions, and KPI counts stamped with them.

Every write bumps, in its own transaction, the version of (county, kind of record) for each
county it touches: one UPSERT per county, skipped when the transaction bumped it already and
has not read it since (a task write always bumps: see ``_tasks_changed``). Stored counts
are stamped with the sum of their county's versions of the kinds the KPI reads, so counts
whose stamp differs from the current sum are stale and are recounted from raw rows (see
``services/kpi_summary.py``). Task completion is also kept up incrementally: a task write
adds its change to the fresh counts of every period it overlaps, and moves their stamp along
with the version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from twores.core.areas import Tier
from twores.core.periods import Period
from twores.core.ports import Counts, SummaryState, WritesBusyError
from twores.core.supervision import counts_toward
from twores.plugins.sqlalchemy import rows, tables
from twores.plugins.sqlalchemy.rows import StoredRow

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork

#: The kind of record each table holds (the names ``Kpi.reads`` uses).
SOURCES = {
    "businesses": "business",
    "cadres": "cadre",
    "assignments": "assignment",
    "supervision_tasks": "task",
    "visits": "visit",
    "letters": "letter",
    "duty_records": "duty_record",
    "problems": "problem",
}
#: The national task-completion counter, which counts what ``completion_by_area`` counts.
TASKS_COUNTER = "twores.plugins.builtin.national_kpis._tasks"
_COUNTY = rows.ANCESTORS.index("county_code")
_TASK = {name: rows.TASK.columns.index(name) for name in rows.TASK.columns}
V, S, K = tables.kpi_versions, tables.kpi_states, tables.kpi_summary
#: The source whose stored counts each write moves by its delta (see ``_tasks_changed``).
_MOVED_BY_DELTA = SOURCES["supervision_tasks"]
#: Above this many counties, read all rows and pick counties in Python.
_IN_LIST = 500
#: The claim of a unit of work storing recounted counts.
_CLAIM = "twores.kpi_summary"


def _one_of(column: sa.Column[Any], values: Collection[str]) -> list[sa.ColumnElement[bool]]:
    return [column.in_(sorted(values))] if len(values) <= _IN_LIST else []


class SqlKpiSummary:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        #: Writes through this unit of work so far (what counted raw rows may be reused by).
        self.writes = 0
        #: (county, source) versions bumped since versions were last read here: bumping
        #: them again could change no stamp (stamps are versions read), so a bulk load of
        #: a hundred batches bumps each county once, not a hundred times. Not for tasks:
        #: their stored counts are moved by each write's delta, which needs one bump per
        #: write (a count another transaction stamped meanwhile must not look fresh).
        self._unread: set[tuple[str, str]] = set()

    def _sql(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        mark = self.uow.mark
        self.uow.executemany(sql.replace("?", mark), params)

    def _allowed(self, counties: Collection[str]) -> None:
        guard = self.uow.guard
        for county in counties:
            guard.within(county)  # raises ScopeError outside the caller's scope

    # --- writes --------------------------------------------------------------------------

    def touched(self, source: str, counties: Iterable[str | None]) -> None:
        """Bump the version of ``source`` in each county (once per county)."""
        self.writes += 1
        bumps = sorted({(c, source) for c in counties if c is not None} - self._unread)
        self._sql(
            "INSERT INTO kpi_versions (county_code, source, version) VALUES (?, ?, 1) "
            "ON CONFLICT (county_code, source) DO UPDATE SET version = kpi_versions.version + 1",
            bumps,
        )
        if source != _MOVED_BY_DELTA:
            self._unread.update(bumps)

    def wrote(self, table: sa.Table, before: list[StoredRow], after: list[tuple[Any, ...]]) -> None:
        """Rows of ``table`` replaced (``before``: old rows) or written (``after``: values)."""
        counties = {r["county_code"] for r in before} | {v[_COUNTY] for v in after}
        if not counties:
            return
        self.touched(SOURCES[table.name], counties)
        if table is tables.tasks:
            self._tasks_changed(before, after, counties)

    def _tasks_changed(
        self,
        before: list[StoredRow],
        after: list[tuple[Any, ...]],
        counties: set[str],
    ) -> None:
        """Move the stored task counts of ``counties`` that were up to date by the tasks
        written (a county with no such count is recounted when read: nothing to add up for
        it now)."""
        stored = self.uow.connection.execute(
            sa.select(S.c.county_code, S.c.kpi, S.c.period, S.c.as_of, S.c.stamp).where(
                S.c.county_code.in_(sorted(counties)), S.c.counter.like(f"{TASKS_COUNTER}|%")
            )
        ).all()
        if not stored:
            return
        versions = self.versions(counties)
        fresh = [  # counts as of a day inside their period are recounted (visits' days)
            (county, kpi, period, as_of, now)
            for county, kpi, period, as_of, stamp in stored
            if stamp == (now := versions[county].get("task", 0)) - 1
            and as_of >= Period.parse(period).end
        ]
        if not fresh:
            return
        delta = _task_delta(before, after, {county for county, *_ in fresh})
        for county, kpi, period, as_of, now in fresh:
            self._add(county, kpi, Period.parse(period), as_of, now, delta[county])

    def _add(
        self,
        county: str,
        kpi: str,
        period: Period,
        as_of: date,
        stamp: int,
        delta: Mapping[tuple[str, date, date, date | None], list[int]],
    ) -> None:
        by_area: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (area, first, last, visited), (done, due) in delta.items():
            if counts_toward(first, last, (period.start, period.end), as_of):
                by_area[area][0] += done if visited is not None and visited <= as_of else 0
                by_area[area][1] += due
        n, d = sum(c[0] for c in by_area.values()), sum(c[1] for c in by_area.values())
        key = (S.c.county_code == county, S.c.kpi == kpi, S.c.period == str(period))
        moved = self.uow.connection.execute(
            sa.update(S)
            .where(*key, S.c.as_of == as_of, S.c.stamp == stamp - 1)
            .values(stamp=stamp, numerator=S.c.numerator + n, denominator=S.c.denominator + d)
        )
        if moved.rowcount != 1:
            return
        self._sql(
            "INSERT INTO kpi_summary (county_code, kpi, period, as_of, area_code, numerator, "
            "denominator) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (county_code, kpi, period, "
            "as_of, area_code) DO UPDATE SET numerator = kpi_summary.numerator + "
            "excluded.numerator, denominator = kpi_summary.denominator + excluded.denominator",
            [(county, kpi, str(period), as_of, a, c[0], c[1]) for a, c in by_area.items()],
        )
        self.uow.connection.execute(  # an area without tasks has no row in a recount
            sa.delete(K).where(
                K.c.county_code == county,
                K.c.kpi == kpi,
                K.c.period == str(period),
                K.c.as_of == as_of,
                K.c.denominator == 0,
            )
        )

    # --- the port ------------------------------------------------------------------------

    def counties(self, within: str | None) -> list[str] | None:
        guard = self.uow.guard
        root = guard.within(within)
        hierarchy = guard.hierarchy
        county = Tier.COUNTY.depth
        if root is not None:
            area = hierarchy.get(root)
            if area is None or area.tier.depth > county:
                return None
            top = [area]
        else:
            top = list(hierarchy.roots)
        found: list[str] = []
        while top:
            area = top.pop()
            found.append(area.code)
            if area.tier.depth < county:
                top.extend(hierarchy.children(area.code))
        return sorted(found)

    def versions(self, counties: Collection[str]) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {c: {} for c in counties}
        if not found:
            return found
        self._unread.clear()
        # hand-written: read on every dashboard request (about 8 rows per county)
        where, params = self._counties_where(counties)
        sql = f"SELECT county_code, source, version FROM kpi_versions{where}"
        rows = self.uow.connection.exec_driver_sql(sql, params)
        for county, source, version in rows:
            if county in found:
                found[county][source] = int(version)
        return found

    def fingerprint(self, counties: Collection[str]) -> tuple[int, int]:
        # one aggregate row instead of ~8 rows per county (read on every dashboard request)
        self._unread.clear()
        where, params = self._counties_where(counties)
        sql = f"SELECT count(*), sum(version) FROM kpi_versions{where}"
        rows, total = self.uow.connection.exec_driver_sql(sql, params).one()
        return int(rows), int(total or 0)

    def _counties_where(self, counties: Collection[str]) -> tuple[str, tuple[str, ...]]:
        """A WHERE over ``counties``; none (every row, filtered by the caller) when there are
        none or too many for an IN list."""
        if not 0 < len(counties) <= _IN_LIST:
            return "", ()
        params = tuple(sorted(counties))
        return f" WHERE county_code IN ({self.uow.placeholders(len(params))})", params

    def states(
        self, period: str, as_of: date, counties: Collection[str]
    ) -> dict[tuple[str, str], SummaryState]:
        self._allowed(counties)
        query = sa.select(S).where(
            S.c.period == period, S.c.as_of == as_of, *_one_of(S.c.county_code, counties)
        )
        wanted = set(counties)
        return {
            (r.kpi, r.county_code): SummaryState(
                r.counter, int(r.stamp), int(r.numerator), int(r.denominator)
            )
            for r in self.uow.connection.execute(query)
            if r.county_code in wanted
        }

    def claim(self) -> None:
        self.uow.claim_writer(_CLAIM)

    def try_claim(self) -> bool:
        try:  # SQLite: BEGIN IMMEDIATE without waiting; PostgreSQL: a try of the advisory lock
            self.uow.claim_writer(_CLAIM, wait=0)
        except WritesBusyError:
            return False
        return True

    def store(
        self,
        period: str,
        as_of: date,
        kpi: str,
        counter: str,
        counts: dict[str, tuple[int, Counts]],
    ) -> None:
        self._allowed(counts)
        for table in (K, S):
            self._sql(
                f"DELETE FROM {table.name} WHERE county_code = ? AND kpi = ? AND period = ? "
                "AND as_of = ?",
                [(c, kpi, period, as_of) for c in counts],
            )
        self._sql(
            "INSERT INTO kpi_states (county_code, kpi, period, as_of, counter, stamp, numerator, "
            "denominator) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c, kpi, period, as_of, counter, stamp, *_total(leaves))
                for c, (stamp, leaves) in counts.items()
            ],
        )
        self._sql(
            "INSERT INTO kpi_summary (county_code, kpi, period, as_of, area_code, numerator, "
            "denominator) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (c, kpi, period, as_of, area, n, d)
                for c, (_, leaves) in counts.items()
                for area, (n, d) in leaves.items()
            ],
        )

    def leaves(
        self, period: str, as_of: date, kpis: Collection[str], counties: Collection[str]
    ) -> dict[str, Counts]:
        self._allowed(counties)
        query = sa.select(K.c.kpi, K.c.county_code, K.c.area_code, K.c.numerator, K.c.denominator)
        query = query.where(
            K.c.period == period,
            K.c.as_of == as_of,
            K.c.kpi.in_(sorted(kpis)),
            *_one_of(K.c.county_code, counties),
        )
        wanted = set(counties)
        found: dict[str, Counts] = {k: {} for k in kpis}
        for kpi, county, area, n, d in self.uow.connection.execute(query):
            if county in wanted:
                found[kpi][area] = (int(n), int(d))
        return found


def _total(leaves: Counts) -> tuple[int, int]:
    return sum(n for n, _ in leaves.values()), sum(d for _, d in leaves.values())


_Delta = dict[str, dict[tuple[str, date, date, date | None], list[int]]]


def _task_delta(
    before: list[StoredRow], after: list[tuple[Any, ...]], counties: set[str]
) -> _Delta:
    """county -> (area, first day, last day, day of the crediting visit) -> [done, due] that
    the write moved."""
    delta: _Delta = defaultdict(dict)

    def add(county: str, area: str, span: tuple[Any, Any], key: str, visit: Any, sign: int) -> None:
        if county in counties:
            visited = None if visit is None else _day(visit[len(key) + 1 : len(key) + 11])
            where = (area, _day(span[0]), _day(span[1]), visited)
            counts = delta[county].setdefault(where, [0, 0])
            counts[0] += sign * (visit is not None)
            counts[1] += sign

    for r in before:
        if r["exempt_reason"] is None:
            span = (r["period_start"], r["period_end"])
            add(r["county_code"], r["area_code"], span, r["business_key"], r["visit_id"], -1)
    t = _TASK
    for v in after:
        if v[t["exempt_reason"]] is None:
            span = (v[t["period_start"]], v[t["period_end"]])
            key, visit = v[t["business_key"]], v[t["visit_id"]]
            add(v[_COUNTY], v[t["area_code"]], span, key, visit, 1)
    return delta


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
