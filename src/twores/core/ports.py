"""Storage ports: the protocols every backend implements.

A :class:`Store` opens units of work; a :class:`UnitOfWork` is a transaction over the
repositories that rolls back unless committed. Every unit of work runs within a
:class:`~twores.core.security.Scope`: reads see only the scope's subtree, writes outside it
raise :class:`~twores.core.security.ScopeError`, and every change is appended to the audit
log. Bulk reads stream (``stream()`` yields in batches, never a whole province at once).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import date
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

import attrs

from twores.core.areas import Area, Hierarchy
from twores.core.assignment import Assignment, Plan
from twores.core.audit import AuditEntry, AuditProblem, AuditSummary
from twores.core.businesses import FoodBusiness
from twores.core.cadres import Cadre
from twores.core.duties import DutyKind, DutyRecord
from twores.core.errors import InvalidValueError, TworesError, UnitEndedError, UnitInUseError
from twores.core.kpis import BusinessTally, Ranking, RankingRun
from twores.core.letters import Letter
from twores.core.problems import Problem, ProblemStatus, Severity
from twores.core.security import ACTOR_MAX, Scope
from twores.core.supervision import SupervisionTask, TaskPlan, Visit
from twores.core.texts import text_of_at_most

#: How long a unit of work waits for another writer by default (seconds): a province's
#: import holds the writer claim for minutes; a web request should wait a few seconds.
WRITES_WAIT = 600.0


class WritesBusyError(TworesError):
    """Another write held the writer claim (:meth:`UnitOfWork.claim_writes`) longer than
    this unit of work would wait; nothing was changed, and trying again later may work."""

    code = "writes_busy"

    def __init__(self) -> None:
        super().__init__(
            "另一项写入正在进行，请稍后重试", "another write is under way; try again shortly"
        )


@attrs.frozen
class UpsertResult:
    """How many records a write inserted, updated or found unchanged; and the keys of the
    updated records it filed in another area (``moved``, not compared)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)

    @property
    def changed(self) -> int:
        return self.inserted + self.updated

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.moved + other.moved,
        )


@attrs.frozen
class TaskSync:
    """What scheduling a period found and did: the required tasks (of them exempt, and
    without a holder), the writes, and the filed tasks retired as no longer due."""

    tasks: int
    exempt: int
    unassigned: int
    written: UpsertResult
    retired: int
    #: The businesses whose tasks the run wrote; None when not known (a bulk first run).
    businesses_written: frozenset[str] | None = attrs.field(default=None, eq=False)


#: The longest imported file name (``import_batches.file_name``) the store keeps.
FILE_NAME_MAX = 500


def _non_empty_text_of_at_most(limit: int) -> Any:
    """:func:`text_of_at_most`, refusing the empty text (a name of spaces alone is a name)."""
    within = text_of_at_most(limit)

    def check(instance: Any, attribute: attrs.Attribute[str], value: object) -> None:
        if value == "":
            raise InvalidValueError(attribute.name, value, "应为非空文本", "must be non-blank text")
        within(instance, attribute, value)

    return check


@attrs.frozen
class ImportRecord:
    """One imported file: its SHA-256, kind, name, who and when, and what it changed."""

    sha256: str
    kind: str
    file_name: str = attrs.field(validator=_non_empty_text_of_at_most(FILE_NAME_MAX))
    actor: str = attrs.field(validator=_non_empty_text_of_at_most(ACTOR_MAX))
    at: str
    rows: int
    inserted: int
    updated: int


class AreaRepository(Protocol):
    def upsert_many(self, areas: Iterable[Area]) -> UpsertResult: ...
    def get(self, code: str) -> Area | None: ...
    def stream(self) -> Iterator[Area]: ...
    def hierarchy(self) -> Hierarchy: ...


class BusinessRepository(Protocol):
    def upsert_many(self, businesses: Iterable[FoodBusiness]) -> UpsertResult: ...
    def bulk_load(self) -> AbstractContextManager[None]:
        """A large load of keys that are distinct follows inside this block: a backend may
        defer index upkeep to the block's end. Results are the same as without it."""
        ...

    def get(self, key: str) -> FoodBusiness | None: ...
    def get_many(self, keys: Collection[str]) -> dict[str, FoodBusiness]:
        """The businesses of ``keys`` that exist and lie in scope, by key."""
        ...

    def keys_by_uscc(self, codes: Collection[str]) -> dict[str, list[str]]:
        """Per credit code of ``codes``: the sorted keys of the businesses in scope stored
        with it (a licensed business is keyed by its licence, so its code finds it)."""
        ...

    def uscc_filed_outside(self, codes: Collection[str]) -> set[str]:
        """Of ``codes``, those that no business in scope but some business outside it is
        stored with (only that they are: an import refuses them rather than file twice)."""
        ...

    def coverage_by_area(
        self, on: date, *, within: str | None = None
    ) -> dict[str, tuple[int, int]]:
        """Per area: (in-scope businesses held by a cadre on ``on``, in-scope businesses)."""
        ...

    def county_codes(self, *, within: str | None = None) -> list[str]:
        """The distribution keys (``county_code``: the county above a record's area, or the
        area itself above county level) of the records in scope under ``within``, sorted."""
        ...

    def stream(
        self, *, within: str | None = None, county_code: str | None = None
    ) -> Iterator[FoodBusiness]:
        """In key order, within the scope (and the subtree ``within``); with
        ``county_code``, only those filed under that distribution key."""
        ...

    def page(
        self,
        *,
        within: str | None = None,
        offset: int = 0,
        limit: int,
        after: str | None = None,
    ) -> list[FoodBusiness]:
        """``limit`` of :meth:`stream`'s businesses from the ``offset``-th (a list page: the
        database skips the rows before it); with ``after``, of those whose key sorts after
        it (stored or not), from the ``offset``-th of them: the next page read from the
        key index (``WHERE key > after``), however deep, where an offset is O(offset)."""
        ...

    def search(
        self, text: str, *, within: str | None = None, offset: int = 0, limit: int
    ) -> list[FoodBusiness]:
        """Up to ``limit`` businesses, in key order from the ``offset``-th, whose name,
        licence number or credit code holds ``text`` (letters in any case; ``%`` and ``_``
        are plain characters)."""
        ...

    def count(self, *, within: str | None = None) -> int: ...


class CadreRepository(Protocol):
    def upsert_many(self, cadres: Iterable[Cadre]) -> UpsertResult: ...
    def get(self, cadre_id: str) -> Cadre | None: ...
    def get_many(self, ids: Collection[str]) -> dict[str, Cadre]:
        """The stored cadres among ``ids``, by id, within the scope."""
        ...

    def stream(self, *, within: str | None = None) -> Iterator[Cadre]:
        """In id order, within the scope (and the subtree ``within``)."""
        ...

    def page(
        self,
        *,
        within: str | None = None,
        offset: int = 0,
        limit: int,
        after: str | None = None,
    ) -> list[Cadre]:
        """``limit`` of :meth:`stream`'s cadres from the ``offset``-th; with ``after``, of
        those whose id sorts after it (as :meth:`BusinessRepository.page`)."""
        ...

    def count(self, *, within: str | None = None) -> int: ...


class AssignmentRepository(Protocol):
    def upsert_many(self, assignments: Iterable[Assignment]) -> UpsertResult:
        """Insert new assignments; update ``valid_to``/``reason`` of known ones.

        An assignment is identified by (business key, cadre id, valid_from).
        """
        ...

    def apply(self, plan: Plan) -> UpsertResult:
        """End and create what ``plan`` says."""
        ...

    def stream(
        self,
        *,
        business_key: str | None = None,
        business_keys: Collection[str] | None = None,
        cadre_id: str | None = None,
        active_on: date | None = None,
        within: str | None = None,
        county_code: str | None = None,
    ) -> Iterator[Assignment]:
        """In (business key, cadre id, valid_from) order, within the scope; with
        ``county_code``, only those of businesses filed under that distribution key."""
        ...

    def count(self, *, active_on: date | None = None, within: str | None = None) -> int: ...


class TaskRepository(Protocol):
    def upsert_many(self, tasks: Iterable[SupervisionTask]) -> UpsertResult:
        """Insert or update tasks by key (business/period/seq)."""
        ...

    def get(self, key: str) -> SupervisionTask | None: ...
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
        """In key order; ``overlapping`` keeps tasks whose period meets [first, last];
        ``county_code`` those filed under that distribution key."""
        ...

    def get_many(self, keys: Collection[str]) -> dict[str, SupervisionTask]:
        """The tasks of ``keys`` that exist and lie in scope, by key."""
        ...

    def county_codes(self, *, within: str | None = None) -> list[str]:
        """The distribution keys (``county_code``: the county above a record's area, or the
        area itself above county level) of the records in scope under ``within``, sorted."""
        ...

    def completion_by_area(
        self,
        overlapping: tuple[date, date],
        *,
        within: str | None = None,
        done_by: date | None = None,
        containing: date | None = None,
    ) -> dict[str, tuple[int, int]]:
        """Per area: (done, due) of the non-exempt tasks whose period meets the span; with
        ``done_by``, done only by a visit on or before that day (:func:`credited_on`); with
        ``containing``, a task reaching outside the span only if its period holds that day
        (:func:`~twores.core.supervision.counts_toward`)."""
        ...

    def sync(self, plan: TaskPlan, *, within: str | None = None) -> TaskSync:
        """Bring the tasks of ``plan.requested`` under ``within`` up to date with ``plan``,
        as :func:`twores.core.scheduling.sync_tasks` does (the reference, which a backend
        may simply call): running it again changes nothing."""
        ...


class VisitRepository(Protocol):
    def upsert_many(self, visits: Iterable[Visit]) -> UpsertResult: ...
    def get(self, key: str) -> Visit | None: ...
    def get_many(self, keys: Collection[str]) -> dict[str, Visit]: ...
    def stream(
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[Visit]:
        """In key order; ``between`` keeps visits dated in [first, last]."""
        ...


class LetterRepository(Protocol):
    def upsert_many(self, letters: Iterable[Letter]) -> UpsertResult: ...
    def get(self, key: str) -> Letter | None: ...
    def get_many(self, keys: Collection[str]) -> dict[str, Letter]: ...
    def stream(
        self, *, year: int | None = None, cadre_id: str | None = None, within: str | None = None
    ) -> Iterator[Letter]: ...


class DutyRepository(Protocol):
    def upsert_many(self, records: Iterable[DutyRecord]) -> UpsertResult:
        """One record per business, routine and period: a later one replaces it."""
        ...

    def get(self, key: str) -> DutyRecord | None: ...
    def get_many(self, keys: Collection[str]) -> dict[str, DutyRecord]:
        """The records of ``keys`` that exist and lie in scope, by key."""
        ...

    def stream(
        self,
        *,
        business_key: str | None = None,
        kind: DutyKind | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[DutyRecord]: ...


class ProblemRepository(Protocol):
    def upsert_many(self, problems: Iterable[Problem]) -> UpsertResult: ...
    def get(self, key: str) -> Problem | None: ...
    def get_many(self, keys: Collection[str]) -> dict[str, Problem]:
        """The problems of ``keys`` that exist and lie in scope, by key."""
        ...

    def stream(
        self,
        *,
        business_key: str | None = None,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
    ) -> Iterator[Problem]:
        """In id order; ``open_on`` keeps the problems overdue on that day (as they stood
        then: :meth:`Problem.overdue_on`)."""
        ...

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
        """``limit`` of :meth:`stream`'s problems from the ``offset``-th (a ledger page: the
        database skips the rows before it); with ``after``, of those whose id sorts after
        it (as :meth:`BusinessRepository.page`)."""
        ...

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
        """How many of :meth:`stream`'s problems there are from the ``offset``-th on, at
        most ``cap`` (counted by the database: a ledger's "more than" stops at the cap)."""
        ...


class RankingLog(Protocol):
    """Stored runs; a run ranks its parent's children, so only a scope that holds the
    parent sees it (``get`` and ``previous`` answer None to others)."""

    def get(self, key: str) -> RankingRun | None: ...
    def previous(self, ranking: Ranking) -> RankingRun | None:
        """The stored run ``ranking`` is compared with: of those it follows
        (:meth:`Ranking.follows`), the one counted as of the latest day (the newest of
        that day's)."""
        ...

    def record(self, run: RankingRun) -> bool:
        """Store a run once (False when a run with the same inputs is already stored);
        the scope must be able to write in the parent area."""
        ...


class AuditLog(Protocol):
    """Read by a nationwide administrator only (it holds every area's records unmasked):
    any other scope gets a ``ScopeError``."""

    def entries(self, *, after_seq: int = 0) -> Iterator[AuditEntry]: ...
    def verify(self) -> list[AuditProblem]:
        """Every edited, deleted or unlinked entry (empty when the log is intact)."""
        ...

    def summary(self) -> AuditSummary:
        """The number of entries and the last one's number and hash (no payload is read)."""
        ...


class ImportLog(Protocol):
    def find(self, sha256: str) -> ImportRecord | None: ...
    def record(self, record: ImportRecord) -> None:
        """Remember an imported file; refused to a scope that cannot write."""
        ...


Counts = dict[str, tuple[int, int]]


class KpiCounts(Protocol):
    """The national KPIs' counts per area where the records sit: (numerator, denominator).

    The memory backend is the reference; the SQL backend answers with one GROUP BY each.
    A record counts with others of its county only (a letter with its cadre, a duty record
    with its business), so a county's counts depend on that county's rows alone.
    """

    def letters_signed(self, on: date, *, within: str | None = None) -> Counts:
        """(active cadres holding a letter for ``on``'s year valid on ``on``, active cadres)."""
        ...

    def businesses(
        self,
        on: date,
        required: Callable[[FoodBusiness, date], bool],
        *,
        within: str | None,
        by_area: bool = True,
    ) -> dict[str, BusinessTally]:
        """Per area, one tally of its in-scope businesses on ``on`` (coverage, officer,
        required fields, director). ``required`` is asked once per business profile (type,
        scale, canteen kind, diners, chain flag, status, grades; and the area when
        ``by_area``) with a business built from those fields alone: a rule reads the area
        through ``area_path``, never the name, licence, credit code or staff."""
        ...

    def rectification(
        self, span: tuple[date, date], on: date, *, within: str | None = None
    ) -> Counts:
        """(closed, found) over problems found in ``span`` up to ``on``."""
        ...

    def overdue_problems(self, on: date, *, within: str | None = None) -> Counts:
        """(open with a deadline before ``on``, not closed) over problems."""
        ...

    def routines(
        self, spans: Mapping[DutyKind, tuple[date, date]], *, within: str | None = None
    ) -> dict[DutyKind, Counts]:
        """Per routine: (periods filed, periods due) over in-scope businesses in its span
        (a daily record is owed by a suspended business only before it stopped)."""
        ...


@attrs.frozen
class SummaryState:
    """One KPI's stored counts for a county: the counter (and rule versions) that counted
    them, the county's change stamp they were counted at, and the county's totals."""

    counter: str
    stamp: int
    numerator: int
    denominator: int


class KpiSummary(Protocol):
    """Per-county KPI counts kept by the backend for a period and as-of day. Every write
    to a county bumps its change version of that kind of record, in the same transaction."""

    def counties(self, within: str | None) -> list[str] | None:
        """The county keys under the narrower of the scope and ``within``; None when that
        lies below county level (such queries count afresh)."""
        ...

    def versions(self, counties: Collection[str]) -> dict[str, dict[str, int]]:
        """Per county: its change version of each kind of record written there."""
        ...

    def fingerprint(self, counties: Collection[str]) -> tuple[int, int]:
        """(version rows, their sum) over ``counties`` (or more): versions only grow and a
        write bumps one (once between two reads of it in a unit of work), so an equal
        fingerprint means nothing was written since."""
        ...

    def states(
        self, period: str, as_of: date, counties: Collection[str]
    ) -> dict[tuple[str, str], SummaryState]:
        """The stored states by (KPI, county)."""
        ...

    def claim(self) -> None:
        """Wait until no other unit of work (in any process) is recounting into the summary,
        before this one reads what is stale: the one that waited then finds it fresh."""
        ...

    def try_claim(self) -> bool:
        """:meth:`claim` without waiting: False at once when another unit of work holds it
        (or, on a backend with one writer, such as SQLite, any writer does); the unit then
        stays a reader. A claim, taken or refused, may begin the unit again (SQLite: a new
        snapshot), so what was read before it is read again before it is relied on."""
        ...

    def store(
        self,
        period: str,
        as_of: date,
        kpi: str,
        counter: str,
        counts: dict[str, tuple[int, Counts]],
    ) -> None:
        """Replace the counts of each county (county -> (stamp, area -> counts))."""
        ...

    def leaves(
        self, period: str, as_of: date, kpis: Collection[str], counties: Collection[str]
    ) -> dict[str, Counts]:
        """Per KPI: the stored counts per area where records sit."""
        ...


class UnitOfWork(Protocol):
    """One transaction within a scope; its repositories are read-only members (a backend
    may hold them as plain attributes).

    Rules every backend keeps (:class:`UnitState` helps a backend keep them):

    - **A refused write changes nothing.** A write (``upsert_many``, ``apply``, ``sync``,
      ``record``) that raises fails the unit, whatever it had staged: the caller may go on
      reading and writing (to report more errors, say), but :meth:`commit` rolls the unit
      back and raises :class:`~twores.core.errors.UnitFailedError`. Nothing of a refused
      write is ever stored, even one refused after some of its batches were written.
    - **A unit ends at commit() or rollback().** Any later use (a repository, commit,
      claim_writes) raises :class:`~twores.core.errors.UnitEndedError`; rollback() again,
      and leaving the ``with`` block, do nothing.
    - **One thread at a time.** A unit may be handed to another thread, but two threads
      never use it at once: a write (or commit) while another thread writes with the unit
      raises :class:`~twores.core.errors.UnitInUseError` and fails the unit. Concurrent
      reads are not checked; their results are undefined.
    """

    @property
    def scope(self) -> Scope: ...

    @property
    def areas(self) -> AreaRepository: ...

    @property
    def businesses(self) -> BusinessRepository: ...

    @property
    def cadres(self) -> CadreRepository: ...

    @property
    def assignments(self) -> AssignmentRepository: ...

    @property
    def tasks(self) -> TaskRepository: ...

    @property
    def visits(self) -> VisitRepository: ...

    @property
    def letters(self) -> LetterRepository: ...

    @property
    def duties(self) -> DutyRepository: ...

    @property
    def problems(self) -> ProblemRepository: ...

    @property
    def rankings(self) -> RankingLog: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def kpi_counts(self) -> KpiCounts: ...

    @property
    def kpi_summary(self) -> KpiSummary | None:
        """None when the backend keeps no summary (every KPI is counted afresh)."""
        ...

    @property
    def imports(self) -> ImportLog: ...

    #: Seconds :meth:`claim_writes` (and a write that claims later) waits for another
    #: writer before :class:`WritesBusyError`; :data:`WRITES_WAIT` unless the opener (a web
    #: app, say) sets a shorter wait before the unit's first read.
    writes_wait: float

    def claim_writes(self) -> None:
        """Say this unit of work will write what it reads: wait until no other unit that
        claimed is under way (at most :attr:`writes_wait` seconds, else
        :class:`WritesBusyError`), then read what they committed. Call it before the first
        read of a read-modify-write (a ledger step, an import, an upsert that compares with
        the stored row); then no other writer's commit falls between this unit's read and
        its write. Once per unit; later calls do nothing. Units that only read never call
        it, and never wait for one that did."""
        ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back unless :meth:`commit` was called."""
        ...


class UnitState:
    """The :class:`UnitOfWork` rules for a backend's unit: it ends once (:meth:`check`
    refuses use after that), a write that raises fails it (:meth:`write`), and a second
    thread writing while one does is refused. One check per call, none per record."""

    def __init__(self) -> None:
        self.ended = False
        self.failed = False
        self._busy = threading.RLock()  # held by the thread inside a write (reentrant)

    def check(self) -> None:
        """Raise :class:`UnitEndedError` once the unit was committed or rolled back."""
        if self.ended:
            raise UnitEndedError()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """Around one write call: refused after the end or while another thread writes;
        any exception escaping it fails the unit."""
        self._take()
        try:
            yield
        except BaseException:
            self.failed = True
            raise
        finally:
            self._busy.release()

    @contextlib.contextmanager
    def ending(self) -> Iterator[None]:
        """Around commit(): refused after the end or while another thread writes; the unit
        has ended when it exits. The caller rolls back and raises
        :class:`~twores.core.errors.UnitFailedError` when :attr:`failed`."""
        self._take()
        try:
            yield
        finally:
            self.ended = True
            self._busy.release()

    def _take(self) -> None:
        """Hold the unit for this thread, or refuse (and fail it) when it has ended or
        another thread holds it."""
        self.check()
        if not self._busy.acquire(blocking=False):
            self.failed = True
            raise UnitInUseError()


_Repo = TypeVar("_Repo", bound="_OfUnit")
_P = ParamSpec("_P")
_R = TypeVar("_R")


class _OfUnit(Protocol):
    @property
    def uow(self) -> Any: ...


def unit_write(
    method: Callable[Concatenate[_Repo, _P], _R],
) -> Callable[Concatenate[_Repo, _P], _R]:
    """Mark a repository method as a write of its unit of work (``self.uow.state``, a
    :class:`UnitState`): see :meth:`UnitState.write`."""

    @functools.wraps(method)
    def guarded(self: _Repo, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.uow.state.write():
            return method(self, *args, **kwargs)

    return guarded


class Store(Protocol):
    """A storage backend, opened from a URL by its plugin."""

    url: str

    def unit_of_work(self, scope: Scope) -> UnitOfWork: ...
    def close(self) -> None: ...
