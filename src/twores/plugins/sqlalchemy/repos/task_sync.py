"""Scheduling set-wise: the database builds the tasks a plan requires.

The plan is asked once per area, and where an area's answer depends on the business, once
per distinct business profile there (what :func:`profile_business` builds: the grading
rules decide from those fields and the area). The answers go into small temporary tables
of slot sets; one ``SELECT`` per county joins them with the businesses and each business's
holder on the slot's day. A first run (no task of the period filed anywhere) inserts that
``SELECT`` straight into the tasks and takes what the audit records of each task by
``RETURNING`` (on SQLite, whose ``RETURNING`` took 0.6 s longer for a province, by reading
back the rows numbered after the last one). A later run inserts it into a working table of
the county's wanted tasks, counts them there, reads beside the filed tasks only those that
differ and writes them through the ordinary upsert, then retires what is no longer wanted.
Results equal :func:`twores.core.scheduling.sync_tasks`, the memory backend's, which the
tests hold it to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from twores.core.areas import Tier
from twores.core.businesses import Grade, OperatingStatus
from twores.core.ports import TaskSync, UpsertResult
from twores.core.scheduling import TaskTally, retirements
from twores.core.supervision import NO_LONGER_DUE, SupervisionTask, TaskPlan, TaskSlot
from twores.plugins.sqlalchemy import rows, tables
from twores.plugins.sqlalchemy.profiles import PROFILE, profile_business
from twores.plugins.sqlalchemy.repos import BATCH
from twores.plugins.sqlalchemy.repos.assignments import in_force_on
from twores.plugins.sqlalchemy.repos.sync_marks import Counts, SyncMarks
from twores.plugins.sqlalchemy.summary import SOURCES

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.repos.records import Tasks

B, A, T = tables.businesses.c, tables.assignments.c, tables.tasks.c
_TEMP = sa.MetaData()


def _working_table(name: str, *items: sa.Column[Any] | sa.Index) -> sa.Table:
    """A temporary table of this run (created and dropped in its transaction)."""
    return sa.Table(f"twores_{name}", _TEMP, *items, prefixes=["TEMPORARY"])


def _area() -> sa.Column[str]:
    return sa.Column("area_code", tables.code(), primary_key=True)


SLOT_SETS = _working_table(
    "slot_sets",
    sa.Column("set_id", sa.Integer, primary_key=True),
    sa.Column("period", sa.String(16), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    *(sa.Column(name, sa.String(16), nullable=False) for name in ("period_kind",)),
    *(
        sa.Column(name, sa.Date, nullable=False)
        for name in ("period_start", "period_end", "due_on", "holder_day")
    ),
)
AREA_SETS = _working_table("area_sets", _area(), sa.Column("set_id", sa.Integer, nullable=False))
GRADE_SETS = _working_table(
    "grade_sets",
    _area(),
    sa.Column("grade", sa.String(1), primary_key=True),
    sa.Column("set_id", sa.Integer, nullable=False),
)
PROFILE_GRADES = _working_table(
    "profile_grades",
    sa.Column("area_code", tables.code(), nullable=True),
    *(sa.Column(name, tables.businesses.c[name].type) for name in PROFILE),
    sa.Column("decided", sa.String(1), nullable=False),
    sa.Index("twores_profile_grades_profile", *PROFILE, "area_code"),
)
#: The tasks a later run wants in the county it is bringing up to date.
WANTED = _working_table(
    "wanted",
    *(
        sa.Column(column.name, column.type, primary_key=column.name in ("county_code", "key"))
        for column in (tables.tasks.c[name] for name in rows.TASK.columns)
    ),
)
#: The slots of every task the run wanted so far (what the retirement check looks up).
WANTED_SLOTS = _working_table(
    "wanted_slots",
    *(
        sa.Column(name, tables.tasks.c[name].type)
        for name in ("county_code", "business_key", "period", "seq")
    ),
)
#: Built once every county is in (faster than kept up row by row).
SLOTS_INDEX = (
    f"CREATE INDEX twores_wanted_slots_ix ON {WANTED_SLOTS.name}"
    " (county_code, business_key, period, seq)"
)
TEMPORARY = (SLOT_SETS, AREA_SETS, PROFILE_GRADES, GRADE_SETS, WANTED, WANTED_SLOTS)
S = SLOT_SETS.c
COLUMNS = rows.TASK.columns
#: What a plan decides of a filed task (the rest follows from its key, or is the visit's).
DECIDED = ("county_code", "area_code", "due_on", "cadre_id", "exempt_reason")
#: What a first run's audit entries hold of each task it creates, under its key: what the
#: plan decided (the business, period and slot are read off the key; no visit is filed yet).
AUDITED = DECIDED[1:]
#: What a first run reads back of each task it wrote: its key, then ``AUDITED``.
WRITTEN = ("key", *AUDITED)
#: SQLite's row number of a task (it numbers appended rows upwards).
ROWID = sa.literal_column(f"{tables.tasks.name}.rowid", sa.Integer)


def _text(value: Any) -> sa.ColumnElement[str]:
    return sa.cast(value, sa.String)


def _iso_day(value: Any, postgres: bool) -> sa.ColumnElement[str]:
    """A date as ``YYYY-MM-DD``, as ``date.isoformat()`` spells it (the memory store's
    task reasons). PostgreSQL casts a date to text by the session's DateStyle
    (``01/02/2026`` under ``SQL, DMY``); SQLite holds dates as that text already."""
    if postgres:
        return sa.func.to_char(value, sa.literal_column("'YYYY-MM-DD'"), type_=sa.String)
    return _text(value)


def _wanted(source: sa.FromClause, postgres: bool) -> dict[str, Any]:
    """The task row each slot of a business's set requires, as column expressions."""
    holder = (
        sa.select(A.cadre_id)
        .where(
            A.county_code == B.county_code,
            A.business_key == B.key,
            *in_force_on(S.holder_day),
        )
        .order_by(A.valid_from.desc(), A.cadre_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    since = sa.literal("（自") + _iso_day(B.status_since, postgres) + sa.literal("）")
    exempt = sa.case(
        (
            _bears(OperatingStatus.SUSPENDED, S.period_end),
            sa.literal("停业") + sa.func.coalesce(since, sa.literal("")),
        ),
        else_=sa.null(),
    )
    return {
        "from": source,
        **{name: B[name] for name in rows.ANCESTORS},
        "key": B.key + "/" + S.period + "/" + _text(S.seq),
        "area_code": B.area_code,
        "business_key": B.key,
        "period": S.period,
        "period_kind": S.period_kind,
        "period_start": S.period_start,
        "period_end": S.period_end,
        "seq": S.seq,
        "due_on": S.due_on,
        "cadre_id": holder,
        "exempt_reason": exempt,
        "visit_id": sa.null(),
        "credited_to": sa.null(),
        "row_hash": sa.literal(""),
    }


#: Statuses under which a business owes no visit at all.
GONE = [s.value for s in OperatingStatus if not s.in_scope]


def _bears(status: OperatingStatus, period_end: Any) -> sa.ColumnElement[bool]:
    """The business is in ``status`` and it bears on a task of a period ending
    ``period_end`` (:meth:`twores.core.businesses.FoodBusiness.status_on`)."""
    since = B.status_since
    return sa.and_(B.status == status.value, sa.or_(since.is_(None), since <= period_end))


def _owes(period_end: Any) -> sa.ColumnElement[bool]:
    """Not closed or revoked by ``period_end`` (a business gone later still owed it)."""
    return sa.or_(B.status.not_in(GONE), B.status_since > period_end)


def _owes_slot(period_end: Any) -> sa.ColumnElement[bool]:
    """Opened by ``period_end`` and not gone by then
    (:meth:`twores.core.businesses.FoodBusiness.in_scope_on`)."""
    return sa.and_(sa.or_(B.opened_on.is_(None), B.opened_on <= period_end), _owes(period_end))


#: What a profile column holds in place of NULL, so profiles join by plain equality.
BLANK = {"scale": "", "canteen_kind": "", "diners": -1, "grade": "", "risk_grade": ""}


def _filled(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    blank = BLANK.get(column.key or "")
    return column if blank is None else sa.func.coalesce(column, blank)


def _by_area() -> sa.FromClause:
    sets = AREA_SETS.c
    joined = tables.businesses.join(AREA_SETS, sets.area_code == B.area_code)
    return joined.join(SLOT_SETS, S.set_id == sets.set_id)


#: The area of ``GRADE_SETS`` rows that hold for every area.
EVERY_AREA = ""


def _by_grade(grading_reads_area: bool, *, per_area: bool) -> sa.FromClause:
    """Each business's grade from its profile (and area, where grading reads it), and the
    slot set of that grade (in its area, unless ``GRADE_SETS`` holds one for all areas)."""
    p, g = PROFILE_GRADES.c, GRADE_SETS.c
    same = [p[name] == _filled(B[name]) for name in PROFILE]
    area = [p.area_code == B.area_code] if grading_reads_area else []
    joined = tables.businesses.join(PROFILE_GRADES, sa.and_(*same, *area))
    area_of_set = B.area_code if per_area else sa.literal(EVERY_AREA)
    joined = joined.join(GRADE_SETS, sa.and_(g.area_code == area_of_set, g.grade == p.decided))
    return joined.join(SLOT_SETS, S.set_id == g.set_id)


def _shared_grade_sets(by_grade: list[tuple[Any, ...]]) -> list[tuple[Any, ...]] | None:
    """``GRADE_SETS`` rows for every area at once when each area has the same slot set for
    each grade (one rule for the region: 4 rows instead of 4 per area), else None. Only
    for a run where the grade decides in every area.

    ``by_grade`` lists each area's grades together, in the same order."""
    grades = len(Grade)
    first = by_grade[:grades]
    ids = [set_id for _, _, set_id in by_grade]
    if ids != [set_id for _, _, set_id in first] * (len(ids) // grades):
        return None
    return [(EVERY_AREA, grade, set_id) for _, grade, set_id in first]


class SetwiseSchedule:
    """One set-wise scheduling run of ``plan`` within ``within`` (see the module doc)."""

    def __init__(self, tasks: Tasks, plan: TaskPlan, within: str | None) -> None:
        self.tasks, self.plan, self.within = tasks, plan, within
        self.uow = tasks.uow
        self.connection = tasks.uow.connection
        self.in_scope: list[sa.ColumnElement[bool]] = []
        self.sources: list[sa.FromClause] = []
        self.tally = TaskTally()
        self.plan_digests: dict[str, str] = {}
        self._selects: list[sa.Select[Any]] | None = None
        #: Areas the caller may write in, each checked once a run (by the area tree).
        self._writable: set[str] = set()

    def run(self) -> TaskSync:
        """Bring the tasks up to date; the working tables go with the transaction if it
        fails (and are dropped here when it does not)."""
        self._one_run_at_a_time()
        clause = self.uow.within_clause(tables.businesses, self.within)  # as of the claim
        # A business gone by the period's start owes none of its slots (each ends later).
        self.in_scope = [_owes(self.plan.requested.start)]
        self.in_scope += [] if clause is None else [clause]
        for table in TEMPORARY:
            table.drop(self.connection, checkfirst=True)
            table.create(self.connection)
        synced = self._sync()
        for table in TEMPORARY:
            table.drop(self.connection)
        return synced

    def _sync(self) -> TaskSync:
        self.uow.tune_for_bulk()
        counties = self._counties()
        marks = self._marks(counties)  # what the run reads, versioned before it reads it
        self._ask_plan()
        if marks:
            marks.plan = self.plan_digests
        scheduled: dict[str, Counts] = {}
        if self._first_run():
            self.tally.businesses = None  # inserted set-wise, unnamed
            for county in counties:
                scheduled[county] = self._counted(self._insert, county)
            synced = self.tally.result(UpsertResult(), 0)
        else:
            skipped = marks.unchanged(counties) if marks else {}
            for county in counties:
                if county in skipped:
                    self.tally.add_counts(*skipped[county], UpsertResult())
                else:
                    scheduled[county] = self._counted(self._bring_up_to_date, county)
            retired = retirements(self._unwanted(skipped))
            self.tally.wrote(retired)
            synced = self.tally.result(self.tasks.upsert_many(retired), len(retired))
        if marks:
            marks.save(scheduled)
        return synced

    def _one_run_at_a_time(self) -> None:
        """Wait for any other scheduling run to commit: runs of different periods create
        some of the same tasks (a year's run and its quarter's, two quarters' half-year
        task), so one lock serves them all, taken before anything is read."""
        self.uow.claim_writer("twores.schedule")

    def _marks(self, counties: list[str]) -> SyncMarks | None:
        """The period's marks, when this run schedules whole counties (not a township)."""
        root = self.uow.guard.within(self.within)
        if root is not None and self.uow.guard.hierarchy[root].tier.depth > Tier.COUNTY.depth:
            return None
        return SyncMarks(self.uow, str(self.plan.requested), counties)

    def _counted(self, schedule: Callable[[str], None], county: str) -> Counts:
        """Schedule ``county``; the (tasks, exempt, unassigned) it found."""
        tally = self.tally
        before = (tally.tasks, tally.exempt, tally.unassigned)
        schedule(county)
        return (tally.tasks - before[0], tally.exempt - before[1], tally.unassigned - before[2])

    # --- the plan into the database ------------------------------------------------------

    def _ask_plan(self) -> None:
        """Slot sets per area; where the grade decides, each profile's grade and the slot
        set of each grade in each such area."""
        plan, sets = self.plan, _SlotSets()
        by_area: list[tuple[Any, ...]] = []
        graded: list[str] = []
        query = sa.select(B.area_code, B.county_code).distinct().where(*self.in_scope)
        county_of: dict[str, str] = dict(self.connection.execute(query).all())
        for area in county_of:
            slots = plan.area_slots(area)
            if slots is None:
                graded.append(area)
            else:
                by_area.append((area, sets.id_of(slots)))
        by_grade = [
            (area, grade.value, sets.id_of(plan.grade_slots(grade, area)))
            for area in graded
            for grade in Grade
        ]
        profiles = self._grades(set(graded)) if graded else []
        self.plan_digests = _digests(sets, by_area, by_grade, profiles, county_of, plan)
        shared = None if by_area else _shared_grade_sets(by_grade)  # graded everywhere
        self._load(SLOT_SETS, [_slot_row(i, slot) for slots, i in sets.items() for slot in slots])
        self._load(AREA_SETS, by_area)
        self._load(GRADE_SETS, by_grade if shared is None else shared)
        self._load(PROFILE_GRADES, profiles)
        if self.uow.store.is_postgres:  # temporary tables have no statistics until asked
            for table in TEMPORARY:
                self.connection.exec_driver_sql(f"ANALYZE {table.name}")
        if by_area:
            self.sources.append(_by_area())
        if by_grade:
            self.sources.append(_by_grade(plan.grading_reads_area, per_area=shared is None))

    def _grades(self, graded: set[str]) -> list[tuple[Any, ...]]:
        """(area or None, profile..., grade) of each distinct business profile."""
        reads_area = self.plan.grading_reads_area
        columns = [B[name] for name in PROFILE]
        if reads_area:
            columns.insert(0, B.area_code)
        found = []
        # DISTINCT keeps a small tree of the profiles seen; GROUP BY sorted every business
        # (3× slower on SQLite)
        query = sa.select(*columns).where(*self.in_scope).distinct()
        for profile in self.uow.fetch(query):
            if reads_area and profile["area_code"] not in graded:
                continue
            grade = self.plan.grade_of(profile_business(profile, self.within))
            area = profile["area_code"] if reads_area else None
            filled = (BLANK.get(n) if profile[n] is None else profile[n] for n in PROFILE)
            found.append((area, *filled, grade.value))
        return found

    def _load(self, table: sa.Table, values: list[Any]) -> None:
        """Fill a working table (by COPY on PostgreSQL: 58k rows took 1.5 s as INSERTs)."""
        self.uow.insert_rows(table.name, tuple(c.name for c in table.columns), values)

    def _counties(self) -> list[str]:
        return self.uow.businesses.county_codes(within=self.within)

    def _first_run(self) -> bool:
        """No task of the period is filed anywhere (so none can have moved in)."""
        span = self.plan.requested
        query = sa.select(sa.literal(1)).where(
            T.period_start <= span.end, T.period_end >= span.start
        )
        return self.connection.execute(query.limit(1)).first() is None

    def _wanted(self) -> list[sa.Select[Any]]:
        """Per source of slot sets, the wanted tasks (``COLUMNS``) of the county bound as
        ``county``: built once a run, so each county only binds it."""
        if self._selects is None:
            county = sa.bindparam("county", type_=B.county_code.type)
            postgres = self.uow.store.is_postgres
            self._selects = [
                sa.select(*(values[name].label(name) for name in COLUMNS))
                .select_from(values["from"])
                .where(*self.in_scope, _owes_slot(S.period_end), B.county_code == county)
                for values in (_wanted(source, postgres) for source in self.sources)
            ]
        return self._selects

    # --- writing -------------------------------------------------------------------------

    def _insert(self, county: str) -> None:
        """The county's wanted tasks, straight in; then their audit entries and counts."""
        guard, writable = self.uow.guard, self._writable
        for written, inserted in self._inserted(county):
            found = 0
            for chunk in self._chunks(written):
                for area in {v[1] for v in chunk} - writable:
                    guard.check_write(area, f"督导任务 {county}", f"task in {county}")
                    writable.add(area)
                self.uow.record("task", [(v[0], None, v[1:]) for v in chunk], AUDITED)
                self._count(chunk, UpsertResult(inserted=len(chunk)))
                found += len(chunk)
            if inserted is not None and found != inserted:  # the run rolls back
                raise RuntimeError(f"read back {found} of the {inserted} tasks of {county}")
        # Stored counts of the county go stale (recounted when read) rather than moved.
        self.uow.kpi_summary.touched(SOURCES[tables.tasks.name], [county])

    def _inserted(self, county: str) -> Iterator[tuple[sa.CursorResult[Any], int | None]]:
        """Insert the county's wanted tasks, one statement per source of slot sets; give
        ``WRITTEN`` of the rows each wrote, and how many to expect where they are read back.
        PostgreSQL returns them (``RETURNING``); SQLite's ``RETURNING`` cost 0.6 s more for a
        province than reading the rows numbered after the table's last rowid before the
        statement (appended rows take the next numbers)."""
        for select in self._wanted():
            insert = tables.tasks.insert().from_select(COLUMNS, select)
            if not self.uow.store.is_sqlite:
                returning = insert.returning(*(T[name] for name in WRITTEN))
                yield self.connection.execute(returning, {"county": county}), None
                continue
            last_row = sa.select(sa.func.max(ROWID)).select_from(tables.tasks)
            last = self.connection.execute(last_row).scalar() or 0
            inserted = self.connection.execute(insert, {"county": county}).rowcount
            after = sa.select(*(T[name] for name in WRITTEN)).where(last < ROWID)
            yield self.connection.execute(after.order_by(ROWID)), inserted

    def _bring_up_to_date(self, county: str) -> None:
        """Put the county's wanted tasks in ``WANTED``, count them, rewrite those missing or
        unlike the filed ones (a fulfilled task keeps its visit), and keep their slots in
        ``WANTED_SLOTS``."""
        for select in self._wanted():
            statement = WANTED.insert().from_select(COLUMNS, select)
            self.connection.execute(statement, {"county": county})
        w, filed = WANTED.c, tables.tasks.alias("filed")
        f = filed.c
        # The county is implied by the business (its key names it), matched all the same:
        # a distributed PostgreSQL (Citus) joins rows of one county only where they are.
        same = sa.and_(
            f.county_code == w.county_code, f.business_key == w.business_key, f.key == w.key
        )
        total, exempted, unassigned = self.connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(w.exempt_reason),
                sa.func.count(sa.case((w.exempt_reason.is_(None) & w.cadre_id.is_(None), 1))),
            ).where(w.county_code == county)
        ).one()
        differs = sa.or_(f.key.is_(None), *(f[name].is_distinct_from(w[name]) for name in DECIDED))
        query = (
            sa.select(*(w[name] for name in COLUMNS), f.visit_id, f.credited_to)
            .select_from(WANTED.outerjoin(filed, same))
            .where(w.county_code == county, differs)
        )
        changed = [_merged(row) for c in self._chunks(self.connection.execute(query)) for row in c]
        slots = [w.county_code, w.business_key, w.period, w.seq]
        self.connection.execute(
            WANTED_SLOTS.insert().from_select([c.name for c in slots], sa.select(*slots))
        )
        if self.uow.store.is_postgres:  # a DELETE would leave the rows' space taken
            self.connection.exec_driver_sql(f"TRUNCATE {WANTED.name}")
        else:  # SQLite empties a table on an unqualified DELETE
            self.connection.execute(WANTED.delete())
        self.tally.wrote(changed)
        self.tally.add_counts(total, exempted, unassigned, self.tasks.upsert_many(changed))

    def _chunks(self, result: sa.CursorResult[Any]) -> Iterator[Sequence[Sequence[Any]]]:
        """``result``'s rows in chunks of ``BATCH``; on SQLite the driver's values (ISO
        dates), as ``SqlUnitOfWork.fetch`` reads them."""
        cursor = result.cursor if self.uow.store.is_sqlite else result
        while chunk := cursor.fetchmany(BATCH):
            yield chunk

    def _count(self, values: Sequence[Sequence[Any]], written: UpsertResult) -> None:
        """Tally rows of ``WRITTEN``."""
        exempt, cadre = WRITTEN.index("exempt_reason"), WRITTEN.index("cadre_id")
        exempted = sum(v[exempt] is not None for v in values)
        unassigned = sum(v[cadre] is None and v[exempt] is None for v in values)
        self.tally.add_counts(len(values), exempted, unassigned, written)

    def _unwanted(self, skipped: Collection[str]) -> Iterator[SupervisionTask]:
        """The open tasks filed in the period within scope that no business wants now (none
        in ``skipped`` counties, where nothing changed since they were retired).

        A task whose slot is in ``WANTED_SLOTS`` is wanted; only the rest are asked whether
        any business (in a county this run skipped, say) wants them."""
        self.connection.exec_driver_sql(SLOTS_INDEX)
        if self.uow.store.is_postgres:  # analyzed while still empty
            self.connection.exec_driver_sql(f"ANALYZE {WANTED_SLOTS.name}")
        span = self.plan.requested
        clause = self.uow.within_clause(tables.tasks, self.within)
        where = [] if clause is None else [clause]
        if skipped:
            where.append(T.county_code.not_in(sorted(skipped)))
        w = WANTED_SLOTS.c
        # County matched too, though implied by the business (as in _bring_up_to_date).
        found_here = sa.exists(
            sa.select(sa.literal(1)).where(
                w.county_code == T.county_code,
                w.business_key == T.business_key,
                w.period == T.period,
                w.seq == T.seq,
            )
        )
        wanted = [
            sa.exists(
                sa.select(sa.literal(1))
                .select_from(source)
                .where(
                    *self.in_scope,
                    _owes_slot(S.period_end),
                    B.county_code == T.county_code,
                    B.key == T.business_key,
                    S.period == T.period,
                    S.seq == T.seq,
                )
            )
            for source in self.sources
        ]
        query = sa.select(tables.tasks).where(
            T.period_start <= span.end,
            T.period_end >= span.start,
            T.visit_id.is_(None),
            sa.or_(T.exempt_reason.is_(None), T.exempt_reason != NO_LONGER_DUE),
            *where,
            ~found_here,
            *(~exists for exists in wanted),
        )
        for row in self.uow.fetch(query):
            yield rows.TASK.record(row)


class _SlotSets(dict[tuple[TaskSlot, ...], int]):
    """Distinct slot sets, numbered as first seen. The plan hands the same tuple to every
    area that shares an answer, so it is looked up by identity before by value."""

    def __init__(self) -> None:
        super().__init__()
        #: id -> (the tuple, kept alive so its id stays its own; its number)
        self._by_identity: dict[int, tuple[tuple[TaskSlot, ...], int]] = {}

    def id_of(self, slots: tuple[TaskSlot, ...]) -> int:
        found = self._by_identity.get(id(slots))
        if found is None:
            found = self._by_identity[id(slots)] = (slots, self.setdefault(slots, len(self)))
        return found[1]


def _digests(
    sets: dict[tuple[TaskSlot, ...], int],
    by_area: list[tuple[Any, ...]],
    by_grade: list[tuple[Any, ...]],
    profiles: list[tuple[Any, ...]],
    county_of: dict[str, str],
    plan: TaskPlan,
) -> dict[str, str]:
    """Per county, a digest of the plan's answers there (its areas' slot sets, by grade
    where the grade decides) and of the grades of all profiles."""
    slots_of = {i: hashlib.sha256(repr(slots).encode()).hexdigest() for slots, i in sets.items()}
    common = [str(plan.requested), str(plan.grading_reads_area), repr(sorted(profiles))]
    answers: dict[str, list[str]] = {}
    for area, set_id in by_area:
        answers.setdefault(county_of[area], []).append(f"{area}:{slots_of[set_id]}")
    for area, grade, set_id in by_grade:
        answers.setdefault(county_of[area], []).append(f"{area}/{grade}:{slots_of[set_id]}")
    return {
        county: hashlib.sha256("|".join([*common, *sorted(found)]).encode()).hexdigest()
        for county, found in answers.items()
    }


def _slot_row(set_id: int, slot: TaskSlot) -> tuple[Any, ...]:
    """A row of ``SLOT_SETS``, in its column order."""
    period = slot.period
    days = (period.start, period.end, slot.due_on, slot.holder_day)
    return (set_id, str(period), slot.seq, period.kind.value, *(d.isoformat() for d in days))


def _merged(row: Sequence[Any]) -> SupervisionTask:
    """The task of a wanted row (``COLUMNS``, then the filed visit and credit)."""
    *wanted, visit, credit = row
    values = dict(zip(COLUMNS, wanted, strict=True))
    if visit is not None:
        values.update(visit_id=visit, credited_to=credit)
    task: SupervisionTask = rows.TASK.record(values)
    return task
