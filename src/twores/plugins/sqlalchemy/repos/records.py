"""The keyed repositories: businesses, cadres, tasks, visits, letters, duties, problems."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Generator, Iterator
from datetime import date
from typing import Any

import attrs
import sqlalchemy as sa

from twores.core.businesses import IN_SCOPE_STATUSES, FoodBusiness
from twores.core.duties import DutyKind, DutyRecord
from twores.core.letters import Letter
from twores.core.ports import TaskSync, unit_write
from twores.core.problems import OPEN_WITH_DEADLINE, Problem, ProblemStatus, Severity
from twores.core.supervision import SupervisionTask, TaskPlan, Visit, task_business_key
from twores.plugins.sqlalchemy import rls, rows, tables
from twores.plugins.sqlalchemy.repos import BATCH, prefix_batches
from twores.plugins.sqlalchemy.repos.assignments import held_on
from twores.plugins.sqlalchemy.repos.keyed import Keyed
from twores.plugins.sqlalchemy.repos.task_sync import SetwiseSchedule
from twores.plugins.sqlalchemy.rows import StoredRow
from twores.plugins.storage.common import AncestorCodes, letters_follow

#: The only ASCII letters a non-ASCII letter lower-cases into (KELVIN SIGN, and the "i" of
#: LATIN CAPITAL LETTER I WITH DOT ABOVE's "i̇"), and COMBINING DOT ABOVE (that same "i̇").
_ASCII_IMAGES = frozenset("ik\u0307")


def _folds_as_ascii(wanted: str) -> bool:
    """Whether, for an already lower-cased ``wanted``, a text's ``str.lower()`` holds it
    exactly when the text with its ASCII letters lower-cased (SQLite's ``lower()``,
    PostgreSQL's under LC_CTYPE ``C``) does: no character of ``wanted`` is the lower case
    of a non-ASCII one (each is ASCII, or has no case at all), so how a ``lower()`` folds
    non-ASCII capitals, if at all, decides nothing."""
    return not any(
        ch in _ASCII_IMAGES or not (ch.isascii() or ch.upper() == ch == ch.lower()) for ch in wanted
    )


class Businesses(Keyed):
    entity, what_zh = "business", "包保主体"
    one_per_key = True
    stays_in_county = True  # licensed by the county: another county registers it anew
    table, key_column, codec = tables.businesses, "key", rows.BUSINESS

    def search(
        self, text: str, *, within: str | None = None, offset: int = 0, limit: int
    ) -> list[FoodBusiness]:
        """Names, licence numbers and credit codes holding ``text``, case folded as by
        ``str.lower()`` (the memory store's) on every database. The codes are ASCII letters
        and digits (their validators), which every ``lower()`` folds alike; so are names
        for a ``text`` no non-ASCII letter lower-cases into (:func:`_folds_as_ascii`: Chinese,
        digits, most Latin letters), else they go through :meth:`SqlStore.unicode_lower`
        (a Python function per row on SQLite: about +40% to a search through 225k businesses)."""
        b, wanted = self.table.c, text.lower()
        name: sa.ColumnElement[str] = sa.func.lower(b.name)
        if not _folds_as_ascii(wanted):
            name = self.uow.store.unicode_lower(self.uow.connection, b.name)
        folded = (name, sa.func.lower(b.licence_no), sa.func.lower(b.uscc))
        held = sa.or_(*(c.contains(wanted, autoescape=True) for c in folded))
        query = self._select(within).where(held).order_by(b.key).offset(offset).limit(limit)
        return [self.codec.record(row) for row in self.uow.fetch(query)]

    def keys_by_uscc(self, codes: Collection[str]) -> dict[str, list[str]]:
        b, ordered = self.table.c, sorted(set(codes))
        found: dict[str, list[str]] = defaultdict(list)
        for start in range(0, len(ordered), BATCH):
            wanted = self.uow.one_of(b.uscc, ordered[start : start + BATCH])
            query = self._select(None).with_only_columns(b.uscc, b.key).where(wanted)
            for code, key in self.uow.connection.execute(query.order_by(b.uscc, b.key)):
                found[code].append(key)
        return dict(found)

    def uscc_filed_outside(self, codes: Collection[str]) -> set[str]:
        if self._fresh:  # a load into an empty table: every row is this scope's own
            return set()
        unseen = sorted(set(codes) - set(self.keys_by_uscc(codes)))
        if not unseen:
            return set()
        if rls.applies(self.uow.store, self.uow.connection):
            return set(rls.filed_elsewhere(self.uow, "uscc", unseen))
        b, found = self.table.c, set[str]()
        for start in range(0, len(unseen), BATCH):
            wanted = self.uow.one_of(b.uscc, unseen[start : start + BATCH])
            found.update(self.uow.connection.execute(sa.select(b.uscc).where(wanted)).scalars())
        return found

    def coverage_by_area(
        self, on: date, *, within: str | None = None
    ) -> dict[str, tuple[int, int]]:
        b, held = self.table.c, held_on(on)
        query = (
            sa.select(b.area_code, sa.func.sum(sa.case((held, 1), else_=0)), sa.func.count())
            .where(b.status.in_([s.value for s in IN_SCOPE_STATUSES]))
            .group_by(b.area_code)
        )
        clause = self.uow.within_clause(self.table, within)
        if clause is not None:
            query = query.where(clause)
        return {code: (int(n), int(d)) for code, n, d in self.uow.connection.execute(query).all()}

    def _moved(self, moves: list[tuple[str, AncestorCodes]]) -> None:
        """A business moved within its county (another county is refused: ``upsert_many``)
        takes its assignment history with it (they are filed by its area): deleted and
        inserted again, never updated in place, so no write to a distributed table (Citus)
        ever changes a row's county by UPDATE. Its ledger follows too: routine records and
        problems (``_ledger_follows``)."""
        a = tables.assignments
        filing = {key: dict(zip(rows.ANCESTORS, rows.ancestor_values(codes), strict=True))
                  for key, codes in moves}  # fmt: skip
        self._ledger_follows(moves)
        filed = self.uow.one_of(a.c.business_key, sorted(filing))
        held = self.uow.connection.execute(sa.select(a).where(filed)).mappings().all()
        if not held:
            return
        self.uow.connection.execute(sa.delete(a).where(filed))
        refiled = [{**row, **filing[row["business_key"]]} for row in held]
        self.uow.connection.execute(sa.insert(a), refiled)

    def _ledger_follows(self, moves: list[tuple[str, AncestorCodes]]) -> None:
        """Routine records (日管控/周排查/月调度) and problems, open or closed, are the
        business's ledger, listed and counted by their own area: filed again where the
        business now is, audited as any move of a record, which bumps the KPI versions of
        their county (records the caller cannot see stay put, as row-level security would
        hide them)."""
        moved = self.get_many([key for key, _ in moves])
        counties = sorted({codes.county_code for _, codes in moves})
        guard = self.uow.guard
        ledgers: tuple[tuple[sa.Table, rows.Codec, Keyed], ...] = (
            (tables.duty_records, rows.DUTY, self.uow.duties),
            (tables.problems, rows.PROBLEM, self.uow.problems),
        )
        for table, codec, repo in ledgers:
            query = sa.select(table).where(
                table.c.county_code.in_(counties),
                self.uow.one_of(table.c.business_key, sorted(moved)),
            )
            refiled = [
                attrs.evolve(record, area_code=area)
                for row in self.uow.fetch(query)
                if (record := codec.record(row)).business_key in moved
                and record.area_code != (area := moved[record.business_key].area_code)
                and guard.allows(record.area_code)
            ]
            if refiled:
                repo.upsert_many(sorted(refiled, key=codec.key))


class Cadres(Keyed):
    entity, what_zh = "cadre", "包保干部"
    one_per_key = True
    table, key_column, codec = tables.cadres, "id", rows.CADRE

    def _moved(self, moves: list[tuple[str, AncestorCodes]]) -> None:
        """A cadre who moved takes their letters along (``letters_follow``)."""
        moved = self.uow.cadres.get_many([key for key, _ in moves])
        letters_follow(self.uow, moved.values())


class Tasks(Keyed):
    entity, what_zh = "task", "督导任务"
    table, key_column, codec = tables.tasks, "key", rows.TASK

    def completion_by_area(
        self,
        overlapping: tuple[date, date],
        *,
        within: str | None = None,
        done_by: date | None = None,
        containing: date | None = None,
    ) -> dict[str, tuple[int, int]]:
        c = self.table.c
        done: sa.ColumnElement[bool] = c.visit_id.is_not(None)
        if done_by is not None:  # the visit's day, read off its key as ``credited_on`` does
            day = sa.func.substr(c.visit_id, sa.func.length(c.business_key) + 2, 10)
            done = sa.and_(done, day <= done_by.isoformat())
        query = (
            sa.select(
                c.area_code,
                sa.func.sum(sa.case((done, 1), else_=0)),
                sa.func.count(),
            )
            .where(
                c.exempt_reason.is_(None),
                c.period_start <= overlapping[1],
                c.period_end >= overlapping[0],
            )
            .group_by(c.area_code)
        )
        if containing is not None:  # as counts_toward: within the span, or holding the day
            inside = sa.and_(c.period_start >= overlapping[0], c.period_end <= overlapping[1])
            holds = sa.and_(c.period_start <= containing, c.period_end >= containing)
            query = query.where(sa.or_(inside, holds))
        clause = self.uow.within_clause(self.table, within)
        if clause is not None:
            query = query.where(clause)
        return {a: (int(n), int(d)) for a, n, d in self.uow.connection.execute(query).all()}

    def _with_keys(self, keys: Collection[str]) -> sa.ColumnElement[bool]:
        """Through the business index: a task's key names its business."""
        c = self.table.c
        businesses = sorted({task_business_key(key) for key in keys})
        return sa.and_(self.uow.one_of(c.business_key, businesses), self.uow.one_of(c.key, keys))

    @unit_write
    def sync(self, plan: TaskPlan, *, within: str | None = None) -> TaskSync:
        self.uow.writing()
        return SetwiseSchedule(self, plan, within).run()

    def stream(
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        overlapping: tuple[date, date] | None = None,
        within: str | None = None,
        business_keys: Collection[str] | None = None,
        county_code: str | None = None,
    ) -> Iterator[SupervisionTask]:
        c = self.table.c
        clauses = [] if county_code is None else [c.county_code == county_code]
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if cadre_id is not None:
            clauses.append(c.cadre_id == cadre_id)
        if overlapping is not None:
            clauses += [c.period_start <= overlapping[1], c.period_end >= overlapping[0]]
        if business_keys is None:
            return self._where(clauses, within)
        return self._of_businesses(clauses, business_keys, within)

    def _of_businesses(
        self, clauses: list[sa.ColumnElement[bool]], keys: Collection[str], within: str | None
    ) -> Iterator[SupervisionTask]:
        """The tasks of ``keys`` among ``clauses``'s, in key order, one statement per batch
        of keys (a database takes a bounded number of parameters: 65,535 on PostgreSQL)."""
        for batch in prefix_batches(keys, "/"):  # a task's key is its business's + "/…"
            yield from self._where(
                [*clauses, self.uow.one_of(self.table.c.business_key, batch)], within
            )


class Visits(Keyed):
    entity, what_zh = "visit", "督导记录"
    table, key_column, codec = tables.visits, "key", rows.VISIT

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[Visit]:
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if cadre_id is not None:
            clauses.append(c.cadre_id == cadre_id)
        if between is not None:
            clauses += [c.visited_on >= between[0], c.visited_on <= between[1]]
        return self._where(clauses, within)


class Letters(Keyed):
    entity, what_zh = "letter", "承诺书"
    table, key_column, codec = tables.letters, "key", rows.LETTER

    def stream(  # type: ignore[override]
        self, *, year: int | None = None, cadre_id: str | None = None, within: str | None = None
    ) -> Iterator[Letter]:
        c = self.table.c
        clauses = []
        if year is not None:
            clauses.append(c.year == year)
        if cadre_id is not None:
            clauses.append(c.cadre_id == cadre_id)
        return self._where(clauses, within)


class Duties(Keyed):
    entity, what_zh = "duty_record", "主体责任记录"
    table, key_column, codec = tables.duty_records, "key", rows.DUTY

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        kind: DutyKind | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[DutyRecord]:
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if kind is not None:
            clauses.append(c.kind == kind.value)
        if between is not None:
            clauses += [c.on_day >= between[0], c.on_day <= between[1]]
        return self._where(clauses, within)


class Problems(Keyed):
    entity, what_zh = "problem", "问题"
    table, key_column, codec = tables.problems, "key", rows.PROBLEM

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
    ) -> Iterator[Problem]:
        query, _ = self._query(business_key, status, severity, open_on, within)
        found = (self.codec.record(row) for row in self.uow.fetch(query))
        if open_on is None:
            return found
        return (p for p in found if p.overdue_on(open_on))

    def page(
        self,
        *,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
        offset: int = 0,
        limit: int,
        after: str | None = None,
    ) -> list[Problem]:
        query, held = self._query(None, status, severity, open_on, within)
        if after is not None:  # keyset: a seek on the id
            query = query.where(self.table.c.key > after)
        if open_on is None or held is None:
            rows = list(self.uow.fetch(query.offset(offset).limit(limit)))
        else:
            rows = self._overdue(query, held, open_on, offset, offset + limit)
        return [self.codec.record(row) for row in rows]

    def count(
        self,
        *,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
        offset: int = 0,
        cap: int | None = None,
    ) -> int:
        query, held = self._query(None, status, severity, open_on, within)
        if open_on is not None and held is not None:
            end = None if cap is None else offset + cap
            return len(self._overdue(query, held, open_on, offset, end))
        keys = query.with_only_columns(self.table.c.key).order_by(None).offset(offset).limit(cap)
        total = sa.select(sa.func.count()).select_from(keys.subquery())
        return int(self.uow.connection.execute(total).scalar_one())

    def _overdue(
        self,
        query: sa.Select[Any],
        held: sa.ColumnElement[bool],
        open_on: date,
        start: int,
        end: int | None,
    ) -> list[StoredRow]:
        """The ``start``-th to ``end``-th of the rows of ``query`` (:meth:`_query`'s, with
        ``open_on``) overdue on that day. A row that holds its state on the day is overdue
        as the database tells; only the others are decoded and replayed (about 30 µs a
        problem). The rows past ``end`` are left unread."""
        record, uow = self.codec.record, self.uow
        query = query.add_columns(held.label("held_on_day"))
        # the cursor closed as the slice ends, not when collected (a server-side one)
        result = (
            None
            if uow.store.is_sqlite
            else uow.connection.execute(query.execution_options(yield_per=BATCH))
        )
        rows = uow.fetch(query) if result is None else result.mappings()
        try:
            overdue = (r for r in rows if r["held_on_day"] or record(r).overdue_on(open_on))
            return list(itertools.islice(overdue, start, end))
        finally:
            if result is not None:
                result.close()
            elif isinstance(rows, Generator):
                rows.close()

    def _query(
        self,
        business_key: str | None,
        status: ProblemStatus | None,
        severity: Severity | None,
        open_on: date | None,
        within: str | None,
    ) -> tuple[sa.Select[Any], sa.ColumnElement[bool] | None]:
        """The rows :meth:`stream` reads, in id order: with ``open_on``, those that may be
        overdue on that day, and the clause of those that certainly are (their row holds
        their state on the day: :meth:`Problem.state_on`)."""
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if status is not None:
            clauses.append(c.status == status.value)
        if severity is not None:
            clauses.append(c.severity == severity.value)
        query = self._select(within).where(*clauses).order_by(c.key)
        if open_on is None:
            return query, None
        # the row holds the state on the day, or the problem changed since (replayed)
        held = sa.and_(
            c.changed_on <= open_on,
            c.status.in_([s.value for s in OPEN_WITH_DEADLINE]),
            c.deadline < open_on,
        )
        later = sa.and_(
            c.found_on <= open_on, sa.or_(c.changed_on.is_(None), c.changed_on > open_on)
        )
        return query.where(sa.or_(held, later)), held
