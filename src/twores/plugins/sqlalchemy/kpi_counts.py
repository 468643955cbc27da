"""The national KPIs' counts as SQL GROUP BYs (the memory backend's ``MemoryKpiCounts`` is
the reference). Every query runs within the caller's scope; joined rows are matched in
the same county (``county_code``), so each query stays on one Citus shard per county."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from twores.core.areas import Tier
from twores.core.businesses import IN_SCOPE_STATUSES, FoodBusiness, OperatingStatus
from twores.core.duties import DutyKind, due_periods
from twores.core.kpis import BusinessTally, add_counts, as_counts
from twores.core.letters import earliest_valid_signing
from twores.core.periods import Period
from twores.core.problems import OPEN_WITH_DEADLINE, Problem, ProblemStatus
from twores.plugins.sqlalchemy import rows, tables
from twores.plugins.sqlalchemy.profiles import director_rule, profile_business
from twores.plugins.sqlalchemy.repos.assignments import held_on, in_force_on

if TYPE_CHECKING:
    from twores.core.ports import Counts
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork

A, B, C, L = tables.assignments.c, tables.businesses.c, tables.cadres.c, tables.letters.c
D, P = tables.duty_records.c, tables.problems.c
_IN_SCOPE = [s.value for s in IN_SCOPE_STATUSES]
#: The director rule is asked once per distinct profile: these columns (and the area when
#: a rule reads it), low-cardinality ones first so the predicate's tree stays small.
PROFILE = (
    B.business_type,
    B.status,
    B.chain_headquarters,
    B.scale,
    B.canteen_kind,
    B.grade,
    B.risk_grade,
)
#: 主体数据归集: the required fields are filled in.
_COMPLETE = sa.and_(
    B.name != "",
    sa.or_(sa.func.coalesce(B.licence_no, "") != "", sa.func.coalesce(B.uscc, "") != ""),
    B.scale.is_not(None),
    B.grade.is_not(None),
)


def _in_scope_on(on: date) -> sa.ColumnElement[bool]:
    """Open, and operating or suspended, at the end of ``on`` (``FoodBusiness.in_scope_on``):
    so now, or in another status taken only after that day."""
    opened = sa.or_(B.opened_on.is_(None), B.opened_on <= on)
    return sa.and_(opened, sa.or_(B.status.in_(_IN_SCOPE), B.status_since > on))


def _operating_on(on: date) -> sa.ColumnElement[bool]:
    return sa.or_(B.status == OperatingStatus.OPERATING.value, B.status_since > on)


#: The day a suspended business stopped (NULL for an operating one): routines owe by it.
_STOPPED = sa.case((B.status == OperatingStatus.SUSPENDED.value, B.status_since), else_=None)
#: How far before the count day the business scan tells opening days apart: routines owe
#: from the day a business opened, and a routine's span (a KPI period) is at most a year.
OPENED_REACH = timedelta(days=400)


def _opened_after(floor: date) -> sa.ColumnElement[Any]:
    """The day a business opened when that was after ``floor`` (else NULL)."""
    return sa.case((B.opened_on > floor, B.opened_on), else_=None)


def _closed_by(problem: Problem, on: date) -> tuple[int, int]:
    return int(problem.state_on(on)[0] is ProblemStatus.CLOSED), 1


def _overdue_by(problem: Problem, on: date) -> tuple[int, int] | None:
    if problem.state_on(on)[0] is ProblemStatus.CLOSED:
        return None
    return int(problem.overdue_on(on)), 1


#: Businesses required to have a director and those that have one, summed as one number.
_HELD = 2**32


def _ones(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


class SqlKpiCounts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        #: within -> (writes counted then, the business scan's per-(area, stopped) counts)
        self._owing: dict[tuple[str | None, date], tuple[int, Sequence[Any]]] = {}

    def _where(self, table: sa.Table, within: str | None) -> list[sa.ColumnElement[bool]]:
        clause = self.uow.within_clause(table, within)
        return [] if clause is None else [clause]

    def _grouped(self, query: sa.Select[Any], table: sa.Table, within: str | None) -> Counts:
        query = query.where(*self._where(table, within)).group_by(table.c.area_code)
        return {a: (int(n or 0), int(d)) for a, n, d in self.uow.connection.execute(query).all()}

    def _serving(self, role: str, on: date) -> sa.ColumnElement[bool]:
        """The business has someone in ``role`` who is not banned on ``on``."""
        if self.uow.store.is_postgres:
            staff = sa.cast(B.staff, postgresql.JSON)
            person = sa.func.json_extract_path_text(staff, role)
            until = sa.func.json_extract_path_text(staff, role, "banned_until")
        else:
            person = sa.func.json_extract(B.staff, f"$.{role}")
            until = sa.func.json_extract(B.staff, f"$.{role}.banned_until")
        return sa.and_(person.is_not(None), sa.or_(until.is_(None), until < on.isoformat()))

    def letters_signed(self, on: date, *, within: str | None = None) -> Counts:
        valid = (
            sa.select(sa.literal(1))
            .where(
                L.county_code == C.county_code,
                L.cadre_id == C.id,
                L.signed_on <= on,  # within the year, whatever year the letter is for
                L.signed_on >= earliest_valid_signing(on),
                L.businesses > 0,
                # not superseded (generated by its signing), or replaced only after ``on``
                sa.or_(L.generated_on <= L.signed_on, L.generated_on > on),
                *self._where(tables.letters, within),
            )
            .exists()
        )
        holds = (  # an assignment in force in the cadre's county (ix_assignments_cadre)
            sa.select(sa.literal(1))
            .where(
                A.county_code == C.county_code,
                A.cadre_id == C.id,
                *in_force_on(on),
                *self._where(tables.assignments, within),
            )
            .exists()
        )
        # Above county level a cadre's businesses lie in other counties: counted as holding.
        above = C.tier.in_([t.value for t in Tier if t.depth < Tier.COUNTY.depth])
        query = sa.select(C.area_code, _ones(valid), sa.func.count()).where(
            sa.or_(C.active_from.is_(None), C.active_from <= on),
            sa.or_(C.active_to.is_(None), C.active_to > on),
            sa.or_(above, holds),
        )
        return self._grouped(query, tables.cadres, within)

    def businesses(
        self,
        on: date,
        required: Callable[[FoodBusiness, date], bool],
        *,
        within: str | None,
        by_area: bool = True,
    ) -> dict[str, BusinessTally]:
        self.uow.tune_for_bulk()
        where = [_in_scope_on(on), *self._where(tables.businesses, within)]
        columns = (*PROFILE, *([B.area_code] if by_area else []), B.diners)
        profiles = self.uow.connection.execute(sa.select(*columns).distinct().where(*where))
        answers = [(p, required(profile_business(p._mapping, within), on)) for p in profiles.all()]
        must = director_rule(answers, columns)
        opened = _opened_after(on - OPENED_REACH)
        query = (
            sa.select(
                B.area_code,
                _STOPPED,
                opened,
                sa.func.count(),
                _ones(_operating_on(on)),
                _ones(held_on(on)),
                _ones(self._serving("officer", on)),
                _ones(_COMPLETE),
                sa.func.sum(sa.case((must, self._director(on)), else_=0)),
            )
            .where(*where)
            .group_by(B.area_code, _STOPPED, opened)
        )
        rows = self.uow.connection.execute(query).all()
        self._owing[within, on] = (self.uow.kpi_summary.writes, [r[:5] for r in rows])
        found: dict[str, list[int]] = {}
        for area, _, _, *counts, director in rows:
            counts = [int(n or 0) for n in counts]
            counts += divmod(int(director or 0), _HELD)[::-1]
            sums = found.get(area)
            if sums is None:
                found[area] = counts
            else:
                for i, n in enumerate(counts):
                    sums[i] += n
        return {area: BusinessTally(*counts) for area, counts in found.items()}

    def _director(self, on: date) -> sa.ColumnElement[int]:
        """What a business that must have a director adds: 1, and ``_HELD`` more when it
        has one not banned on ``on`` (so the rule's predicate is evaluated once a row)."""
        return sa.case((self._serving("director", on), 1 + _HELD), else_=1)

    def rectification(
        self, span: tuple[date, date], on: date, *, within: str | None = None
    ) -> Counts:
        found = [P.found_on >= span[0], P.found_on <= min(span[1], on)]
        query = sa.select(
            P.area_code, _ones(P.status == ProblemStatus.CLOSED.value), sa.func.count()
        ).where(*found, P.changed_on <= on)
        counts = self._grouped(query, tables.problems, within)
        return self._replayed(counts, found, on, within, _closed_by)

    def overdue_problems(self, on: date, *, within: str | None = None) -> Counts:
        late = sa.and_(P.status.in_([s.value for s in OPEN_WITH_DEADLINE]), P.deadline < on)
        query = sa.select(P.area_code, _ones(late), sa.func.count()).where(
            P.found_on <= on, P.changed_on <= on, P.status != ProblemStatus.CLOSED.value
        )
        counts = self._grouped(query, tables.problems, within)
        return self._replayed(counts, [P.found_on <= on], on, within, _overdue_by)

    def _replayed(
        self,
        counts: Counts,
        where: list[sa.ColumnElement[bool]],
        on: date,
        within: str | None,
        count: Callable[[Problem, date], tuple[int, int] | None],
    ) -> Counts:
        """``counts`` (of the problems whose row holds their state on ``on``) plus those of
        the problems changed since, each replayed to ``on`` in Python."""
        later = sa.or_(P.changed_on.is_(None), P.changed_on > on)
        query = sa.select(tables.problems).where(
            *where, later, *self._where(tables.problems, within)
        )
        found = {area: list(pair) for area, pair in counts.items()}
        for row in self.uow.fetch(query):
            problem = rows.PROBLEM.record(row)
            pair = count(problem, on)
            if pair is not None:
                add_counts(found, problem.area_code, *pair)
        return as_counts(found)

    def routines(
        self, spans: Mapping[DutyKind, tuple[date, date]], *, within: str | None = None
    ) -> dict[DutyKind, Counts]:
        owed = {
            kind: periods
            for kind, (start, end) in spans.items()
            if start <= end and (periods := due_periods(kind, start, end))
        }
        nothing_yet: dict[DutyKind, Counts] = {kind: {} for kind in spans if kind not in owed}
        if not owed:
            return nothing_yet
        self.uow.tune_for_bulk()
        found: dict[DutyKind, dict[str, list[int]]] = {kind: {} for kind in owed}
        end = max(span[1] for span in spans.values())  # one as-of day for every routine
        first = min(periods[0].end for periods in owed.values())
        owing = {kind: _Owing(periods) for kind, periods in owed.items()}
        for area, stopped, opened, everyone, open_ in self._owed(within, end, first):
            stopped_too = int(everyone) - int(open_ or 0)
            for kind, owes in owing.items():
                due_here = int(open_ or 0) * owes.count(opened, None)
                if stopped_too and stopped is not None:
                    due_here += stopped_too * owes.count(opened, stopped)
                add_counts(found[kind], area, 0, due_here)
        filed = self._filed(owed, within, end)
        for kind, area, n in self.uow.connection.execute(filed).all():
            found[DutyKind.of(kind)][area][0] += int(n)
        return {**nothing_yet, **{kind: as_counts(counts) for kind, counts in found.items()}}

    def _owed(self, within: str | None, on: date, first_end: date) -> Sequence[Any]:
        """Per (area, day a suspended business stopped, day it opened when that may fall
        after ``first_end``): businesses in scope and operating on ``on``; the last
        business scan's when nothing was written since, else counted now."""
        writes, rows = self._owing.pop((within, on), (None, []))
        floor = on - OPENED_REACH
        if writes == self.uow.kpi_summary.writes and first_end >= floor:
            return rows
        floor = min(floor, first_end)
        in_scope = [_in_scope_on(on), *self._where(tables.businesses, within)]
        operating = _ones(_operating_on(on))
        opened = _opened_after(floor)
        query = sa.select(B.area_code, _STOPPED, opened, sa.func.count(), operating)
        query = query.where(*in_scope).group_by(B.area_code, _STOPPED, opened)
        return self.uow.connection.execute(query).all()

    def _filed(self, due: Mapping[DutyKind, list[Period]], within: str | None, on: date) -> Any:
        """Records filed per routine and area of their business, one per period due that
        the business owed (``owes_period``: opened by the period's end, not stopped before
        its start)."""
        kept = []
        for kind, periods in due.items():
            if kind is DutyKind.DAILY:
                period_end: sa.ColumnElement[Any] = D.period_start
            else:
                ends = {p.start: p.end for p in periods}
                period_end = sa.case(ends, value=D.period_start)
            kept.append(
                sa.and_(
                    D.kind == kind.value,
                    D.period_start >= periods[0].start,
                    D.period_start <= periods[-1].start,
                    sa.or_(B.opened_on.is_(None), period_end >= B.opened_on),
                    sa.or_(
                        B.status == OperatingStatus.OPERATING.value,
                        D.period_start < B.status_since,
                    ),
                )
            )
        joined = tables.duty_records.join(
            tables.businesses, sa.and_(B.county_code == D.county_code, B.key == D.business_key)
        )
        return (
            sa.select(D.kind, B.area_code, sa.func.count())
            .select_from(joined)
            .where(
                sa.or_(*kept),
                _in_scope_on(on),
                *self._where(tables.duty_records, within),
                *self._where(tables.businesses, within),
            )
            .group_by(D.kind, B.area_code)
        )


class _Owing:
    """A routine's due periods, counted for a group of businesses by the day they opened
    and stopped (``owes_period``) in two binary searches."""

    def __init__(self, periods: Sequence[Period]) -> None:
        self.starts = [p.start for p in periods]
        self.ends = [p.end for p in periods]

    def count(self, opened: date | None, stopped: date | None) -> int:
        """Periods ending on or after ``opened`` and starting before ``stopped``."""
        low = 0 if opened is None else bisect.bisect_left(self.ends, opened)
        high = len(self.starts) if stopped is None else bisect.bisect_left(self.starts, stopped)
        return max(0, high - low)
