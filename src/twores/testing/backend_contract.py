"""The storage contract every backend must pass, ours and third parties' alike.

Subclass :class:`BackendContract`, name the subclass ``Test…`` and implement
:meth:`~BackendContract.make_store`; pytest collects every contract test for it::

    from twores.testing.backend_contract import BackendContract

    class TestMyBackend(BackendContract):
        def make_store(self, tmp_path):
            return MyStore(f"my://{tmp_path}/db")

Implement :meth:`~BackendContract.edit_audit_entry`,
:meth:`~BackendContract.delete_audit_entry` and :meth:`~BackendContract.swap_audit_entries`
to also run the tamper-detection tests: an edited entry, a deleted one (in the middle, the
last, every one) and two entries reordered must each be reported by ``audit.verify()``. A
chain alone cannot show that its end was cut off, so a backend keeps the chain's head (last
seq and hash) apart from the entries, moved by every audited write, and ``verify`` reports
a log that does not end at it as ``truncated``.

A backend that writes a call's records in batches implements
:meth:`~BackendContract.small_batches`, so that the refused-write tests refuse a record
after some batches were written (the rules of :class:`~twores.core.ports.UnitOfWork`: a
refused write stores nothing, a unit ends at commit or rollback, one thread at a time).

It covers areas, businesses, cadres, assignments, tasks (scheduling), visits, letters,
routine records, problems, rankings, the import log and the audit log; KPI counting is
held equal across backends by differential tests (docs/testing.md).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from twores.core.areas import Area, Hierarchy, Tier
from twores.core.assignment import Assignment, AssignmentReason, PlanMode, plan_assignments
from twores.core.audit import AuditSummary
from twores.core.businesses import (
    BusinessType,
    CanteenKind,
    FoodBusiness,
    Grade,
    OperatingStatus,
    RiskLevel,
    Scale,
    Staff,
    StaffMember,
)
from twores.core.cadres import Cadre
from twores.core.duties import DutyKind, DutyRecord, StaffRole
from twores.core.errors import (
    InvalidAreaCodeError,
    StructureError,
    UnitEndedError,
    UnitFailedError,
    UnitInUseError,
)
from twores.core.kpis import Direction, KpiSpec, KpiValue, Ranking, RankingRun, rank_areas
from twores.core.letters import Letter
from twores.core.periods import CHINA_TZ, Frequency, Period, PeriodKind
from twores.core.ports import ImportRecord, Store, UpsertResult, WritesBusyError
from twores.core.problems import (
    Action,
    Problem,
    ProblemSource,
    ProblemStatus,
    Severity,
    transition,
)
from twores.core.roster import Roster, UnknownRecordError
from twores.core.security import Role, Scope, ScopeError
from twores.core.supervision import TaskPlan, Visit, VisitMode, required_tasks, task_slots
from twores.divisions import demo_region
from twores.services.synth import synthetic_roster
from twores.testing.assertions import national_rules

ON = date(2025, 6, 30)
COUNTY = "450323"
TOWNSHIP = "450323101"
OTHER_COUNTY = "450324"
SYSTEM = Scope.system("contract")
HIGHER = Direction.HIGHER_IS_BETTER


def _key(record: Any) -> str:
    return str(record.id if isinstance(record, Problem) else record.key)


def _visit(business: FoodBusiness, cadre: Cadre) -> Visit:
    return Visit(
        business.key,
        cadre.id,
        business.area_code,
        date(2025, 6, 2),
        datetime(2025, 6, 2, 16, 30, tzinfo=CHINA_TZ),
        mode=VisitMode.ON_SITE,
        evidence=("ab" * 32,),
        findings=("冷藏柜温度超标",),
    )


def _letter(business: FoodBusiness, cadre: Cadre) -> Letter:
    return Letter(
        cadre.id, cadre.area_code, 2025, "cd" * 32, 3, date(2025, 1, 6), date(2025, 1, 10), "镇长"
    )


def _duty(business: FoodBusiness, cadre: Cadre) -> DutyRecord:
    return DutyRecord(
        business.key,
        business.area_code,
        DutyKind.DAILY,
        date(2025, 6, 2),
        StaffRole.OFFICER,
        "李明",
    )


def _problem(business: FoodBusiness, cadre: Cadre) -> Problem:
    found = Problem(
        f"{business.key}/2025-06-02/contract",
        business.key,
        business.area_code,
        ProblemSource.VISIT,
        "后厨未设置防蝇防鼠设施",
        Severity.MINOR,
        date(2025, 6, 2),
        cadre.id,
    )
    at = datetime(2025, 6, 2, 17, tzinfo=CHINA_TZ)
    ordered, _ = transition(found, Action.ORDER, actor=cadre.id, at=at, deadline=date(2025, 6, 17))
    return ordered


def _defaulted(record: Any, prefix: str = "") -> list[str]:
    """The fields of an attrs ``record`` (and of the attrs records it holds) left at their
    default: what a round trip of it would not test."""
    found = []
    for field in attrs.fields(type(record)):
        value, name = getattr(record, field.name), prefix + field.name
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if attrs.has(type(value)):
            found += _defaulted(value, f"{name}.")
        elif value == default or value is None:
            found.append(name)
    return found


class BackendContract:
    """Behaviour every :class:`~twores.core.ports.Store` must show."""

    def make_store(self, tmp_path: Path) -> Store:
        """A new, empty store of the backend under test, kept under ``tmp_path``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement make_store(tmp_path) -> Store "
            "(twores.core.ports.Store: unit_of_work(scope) and close())"
        )

    def edit_audit_entry(self, store: Store, seq: int) -> None:
        """Change one stored audit entry behind the store's back (optional)."""
        pytest.skip("this backend offers no way to tamper with its audit log")

    def delete_audit_entry(self, store: Store, seq: int) -> None:
        """Delete one stored audit entry behind the store's back (optional), leaving the
        head the store keeps as it is."""
        pytest.skip("this backend offers no way to tamper with its audit log")

    def swap_audit_entries(self, store: Store, first: int, second: int) -> None:
        """Behind the store's back, store entry ``first`` as entry ``second`` and the other
        way round, each renumbered to the other's seq (optional)."""
        pytest.skip("this backend offers no way to tamper with its audit log")

    def small_batches(self, size: int) -> contextlib.AbstractContextManager[None]:
        """While open, the backend writes a call's records in batches of at most ``size``
        (optional: for a backend that batches its writes; the default changes nothing)."""
        return contextlib.nullcontext()

    # --- fixtures ---------------------------------------------------------------------

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = self.make_store(tmp_path)
        try:
            yield store
        finally:
            store.close()

    @pytest.fixture
    def hierarchy(self) -> Hierarchy:
        return demo_region().subtree(COUNTY)

    @pytest.fixture
    def roster(self, hierarchy: Hierarchy) -> Roster:
        return synthetic_roster(hierarchy, businesses=300, cadres=80, seed=11, within=COUNTY)

    @pytest.fixture
    def loaded(self, store: Store, roster: Roster) -> Store:
        with store.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            uow.businesses.upsert_many(roster.businesses.values())
            uow.cadres.upsert_many(roster.cadres.values())
            uow.commit()
        return store

    # --- records round-trip ---------------------------------------------------------

    def test_areas_round_trip(self, store: Store, hierarchy: Hierarchy) -> None:
        with store.unit_of_work(SYSTEM) as uow:
            assert uow.areas.upsert_many(hierarchy) == UpsertResult(len(hierarchy), 0, 0)
            uow.commit()
        with store.unit_of_work(SYSTEM) as uow:
            assert sorted(uow.areas.stream(), key=lambda a: a.code) == sorted(
                hierarchy, key=lambda a: a.code
            )
            assert uow.areas.get(TOWNSHIP) == hierarchy[TOWNSHIP]
            assert uow.areas.hierarchy().path(TOWNSHIP) == hierarchy.path(TOWNSHIP)
            assert sorted(uow.areas.hierarchy(), key=lambda a: a.code) == sorted(
                hierarchy, key=lambda a: a.code
            )

    def test_an_areas_dates_and_explicit_parent_round_trip(self, store: Store) -> None:
        zone = Area(
            "450323-Z1",
            "灵川经开区",
            Tier.TOWNSHIP,
            parent_code=COUNTY,
            valid_from=date(2020, 1, 1),
            valid_to=date(2030, 1, 1),
        )
        with store.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many([*demo_region().path(COUNTY), zone])
            uow.commit()
        with store.unit_of_work(SYSTEM) as uow:
            assert uow.areas.hierarchy()["450323-Z1"] == zone
            assert uow.areas.hierarchy().parent("450323-Z1") == demo_region()[COUNTY]

    def test_records_round_trip(self, loaded: Store, roster: Roster) -> None:
        with loaded.unit_of_work(SYSTEM) as uow:
            assert list(uow.businesses.stream()) == sorted(
                roster.businesses.values(), key=lambda b: b.key
            )
            assert list(uow.cadres.stream()) == sorted(roster.cadres.values(), key=lambda c: c.id)
            some = next(iter(roster.businesses.values()))
            assert uow.businesses.get(some.key) == some
            assert uow.businesses.get("JY00000000000000") is None

    def test_every_field_survives(self, loaded: Store, roster: Roster) -> None:
        """Every field of a business (each staff role's too), a cadre and an assignment is
        set to a value other than its default and read back unchanged; a field added to
        those classes later fails this test until it is set here too."""
        base = next(
            b
            for b in sorted(roster.businesses.values(), key=lambda b: b.key)
            if b.uscc and (b.licence_no or "").startswith("JY")
        )
        business = attrs.evolve(
            base,
            business_type=BusinessType.CANTEEN,
            scale=Scale.MEDIUM,
            canteen_kind=CanteenKind.SCHOOL,
            diners=120,
            chain_headquarters=True,
            status=OperatingStatus.SUSPENDED,
            status_since=date(2025, 3, 1),
            opened_on=date(2019, 5, 2),
            grade=Grade.B,
            risk_grade=RiskLevel.C,
            staff=Staff(
                head=StaffMember("王伟", "13812345678", "450323199001011234", date(2026, 1, 1)),
                director=StaffMember("刘洋", "07732345678", "450323198512310047", date(2027, 2, 2)),
                officer=StaffMember(
                    "李娜", "+8613900000000", "110101199003074514", date(2028, 3, 3)
                ),
            ),
        )
        cadre = attrs.evolve(
            next(iter(roster.cadres.values())),
            post="副镇长",
            phone="18374074002",
            id_number="11010519491231002X",
            active_from=date(2023, 1, 1),
            active_to=date(2026, 1, 1),
        )
        assignment = Assignment(
            cadre.id, business.key, date(2024, 1, 1), date(2025, 1, 1), AssignmentReason.REGRADED
        )
        for record in (business, cadre, assignment):
            assert _defaulted(record) == [], f"set every field here: {_defaulted(record)}"
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.upsert_many([business]) == UpsertResult(0, 1, 0)
            assert uow.cadres.upsert_many([cadre]) == UpsertResult(0, 1, 0)
            assert uow.assignments.upsert_many([assignment]) == UpsertResult(1, 0, 0)
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(business.key) == business
            assert uow.businesses.get_many([business.key]) == {business.key: business}
            assert [b for b in uow.businesses.stream() if b.key == business.key] == [business]
            assert uow.cadres.get(cadre.id) == cadre
            assert [c for c in uow.cadres.stream() if c.id == cadre.id] == [cadre]
            assert list(uow.assignments.stream(business_key=business.key)) == [assignment]

    # --- idempotence and audit --------------------------------------------------------

    def test_rewriting_the_same_data_changes_nothing_and_audits_nothing(
        self, loaded: Store, roster: Roster
    ) -> None:
        with loaded.unit_of_work(SYSTEM) as uow:
            before = len(list(uow.audit.entries()))
            assert uow.businesses.upsert_many(roster.businesses.values()) == UpsertResult(
                0, 0, len(roster.businesses)
            )
            assert uow.cadres.upsert_many(roster.cadres.values()) == UpsertResult(
                0, 0, len(roster.cadres)
            )
            assert uow.areas.upsert_many(roster.hierarchy) == UpsertResult(
                0, 0, len(roster.hierarchy)
            )
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert len(list(uow.audit.entries())) == before

    def test_a_change_is_audited_with_actor_before_and_after(
        self, loaded: Store, roster: Roster
    ) -> None:
        business = next(iter(roster.businesses.values()))
        changed = attrs.evolve(
            business, grade=Grade.B if business.grade is not Grade.B else Grade.C
        )
        scope = Scope("王科长", Role.OFFICE, COUNTY)
        with loaded.unit_of_work(SYSTEM) as uow:
            last = max((e.seq for e in uow.audit.entries()), default=0)
        with loaded.unit_of_work(scope) as uow:
            uow.businesses.upsert_many([changed])
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            (entry,) = list(uow.audit.entries(after_seq=last))
            assert (entry.actor, entry.operation, entry.entity, entry.key) == (
                "王科长",
                "update",
                "business",
                business.key,
            )
            assert entry.before is not None and entry.after is not None
            assert entry.before["grade"] == (business.grade.value if business.grade else None)
            assert entry.after["grade"] == changed.grade.value  # type: ignore[union-attr]
            assert uow.audit.verify() == []

    def test_only_a_nationwide_administrator_reads_the_audit_log(self, loaded: Store) -> None:
        """It holds every area's records with phones and ID numbers unmasked."""
        for scope in (
            Scope("县管理员", Role.ADMIN, COUNTY),
            Scope("王科长", Role.OFFICE, None),
            Scope("只读", Role.READ_ONLY, TOWNSHIP),
        ):
            with loaded.unit_of_work(scope) as uow:
                with pytest.raises(ScopeError):  # when called, or when read (a generator)
                    list(uow.audit.entries())
                with pytest.raises(ScopeError):
                    uow.audit.verify()
                with pytest.raises(ScopeError):
                    uow.audit.summary()
        with loaded.unit_of_work(SYSTEM) as uow:
            entries = list(uow.audit.entries())
            assert [e.seq for e in entries][:1] == [1]
            last = entries[-1]
            assert uow.audit.summary() == AuditSummary(len(entries), last.seq, last.hash)

    def test_audit_detects_an_edited_entry(self, loaded: Store) -> None:
        self.edit_audit_entry(loaded, 2)
        with loaded.unit_of_work(SYSTEM) as uow:
            problems = uow.audit.verify()
        assert [p.kind for p in problems if p.seq == 2] == ["edited"]

    def test_audit_detects_a_deleted_entry(self, loaded: Store) -> None:
        self.delete_audit_entry(loaded, 2)
        with loaded.unit_of_work(SYSTEM) as uow:
            problems = uow.audit.verify()
        assert "missing" in {p.kind for p in problems}

    def _seqs(self, store: Store) -> list[int]:
        with store.unit_of_work(SYSTEM) as uow:
            seqs = [e.seq for e in uow.audit.entries()]
        assert len(seqs) >= 3, "the loaded store holds a few audit entries"
        return seqs

    def test_audit_detects_a_deleted_last_entry(self, loaded: Store) -> None:
        """What is left is an intact chain: only the kept head shows its end is gone."""
        last = self._seqs(loaded)[-1]
        self.delete_audit_entry(loaded, last)
        with loaded.unit_of_work(SYSTEM) as uow:
            problems = uow.audit.verify()
        assert "truncated" in {p.kind for p in problems}, problems

    def test_audit_detects_an_emptied_log(self, loaded: Store) -> None:
        for seq in reversed(self._seqs(loaded)):
            self.delete_audit_entry(loaded, seq)
        with loaded.unit_of_work(SYSTEM) as uow:
            assert list(uow.audit.entries()) == []
            problems = uow.audit.verify()
        assert "truncated" in {p.kind for p in problems}, problems

    def test_audit_detects_reordered_entries(self, loaded: Store) -> None:
        self._seqs(loaded)
        self.swap_audit_entries(loaded, 2, 3)
        with loaded.unit_of_work(SYSTEM) as uow:
            problems = uow.audit.verify()
        assert {p.seq for p in problems} & {2, 3}, problems

    # --- transactions -----------------------------------------------------------------

    def test_rolls_back_unless_committed(self, loaded: Store, roster: Roster) -> None:
        business = next(iter(roster.businesses.values()))
        closed = attrs.evolve(business, status=OperatingStatus.CLOSED)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.businesses.upsert_many([closed])
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(business.key) == business

        def fail_midway() -> None:
            with loaded.unit_of_work(SYSTEM) as uow:
                uow.businesses.upsert_many([closed])
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            fail_midway()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(business.key) == business
            uow.businesses.upsert_many([closed])
            uow.rollback()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(business.key) == business

    def test_a_bulk_load_gives_what_an_ordinary_load_gives(
        self, store: Store, roster: Roster
    ) -> None:
        businesses = sorted(roster.businesses.values(), key=lambda b: b.key)
        with store.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many(roster.hierarchy)
            with uow.businesses.bulk_load():
                first = uow.businesses.upsert_many(businesses[:100])
                rest = uow.businesses.upsert_many(businesses[100:])
            assert (first + rest).inserted == len(businesses)
            assert uow.businesses.upsert_many(businesses) == UpsertResult(0, 0, len(businesses))
            uow.commit()
        with store.unit_of_work(SYSTEM) as uow:
            assert list(uow.businesses.stream()) == businesses
            assert uow.businesses.get(businesses[-1].key) == businesses[-1]
            assert uow.businesses.count(within=TOWNSHIP) == sum(
                1 for b in businesses if b.area_code.startswith(TOWNSHIP)
            )
            with uow.businesses.bulk_load():  # not empty now: an ordinary load
                assert uow.businesses.upsert_many(businesses[:5]) == UpsertResult(0, 0, 5)

    def test_streams_by_distribution_key(self, loaded: Store, roster: Roster) -> None:
        h = roster.hierarchy
        by_county: dict[str, set[str]] = {}
        for b in roster.businesses.values():
            county = h.ancestor_codes(b.area_code).get(Tier.COUNTY, b.area_code)
            by_county.setdefault(county, set()).add(b.key)
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.county_codes() == sorted(by_county)
            assert uow.businesses.county_codes(within=TOWNSHIP) == [COUNTY]
            for county, keys in by_county.items():
                streamed = [b.key for b in uow.businesses.stream(county_code=county)]
                assert streamed == sorted(keys)
            assert list(uow.businesses.stream(county_code="450324")) == []

    def test_unknown_area_is_rejected(self, loaded: Store, roster: Roster) -> None:
        business = attrs.evolve(next(iter(roster.businesses.values())), area_code="450323999999")
        with pytest.raises(InvalidAreaCodeError), loaded.unit_of_work(SYSTEM) as uow:
            uow.businesses.upsert_many([business])

    # --- the rules of a unit of work (UnitOfWork) -------------------------------------

    @staticmethod
    def _stored(store: Store) -> tuple[list[Any], list[Any], list[int]]:
        with store.unit_of_work(SYSTEM) as uow:
            return (
                list(uow.businesses.stream()),
                sorted(uow.areas.stream(), key=lambda a: a.code),
                [e.seq for e in uow.audit.entries()],
            )

    @pytest.mark.parametrize("then", ["commit", "write and commit", "leave", "rollback"])
    def test_a_refused_write_stores_nothing_of_itself(
        self, loaded: Store, roster: Roster, then: str
    ) -> None:
        """Refused after several batches were written (its bad record last), a write stores
        nothing, whatever the caller does next: the unit has failed, and commit() rolls it
        back and says so."""
        hierarchy = roster.hierarchy
        with loaded.unit_of_work(SYSTEM) as uow:  # another county, to move things to
            uow.areas.upsert_many(demo_region().subtree("450324"))
            uow.commit()
        ordered = sorted(roster.businesses.values(), key=_key)
        renamed = [attrs.evolve(b, name=b.name + "新店") for b in ordered[2:]]
        in_township = [b for b in renamed if hierarchy.contains(TOWNSHIP, b.area_code)]
        outside = next(b for b in renamed if not hierarchy.contains(TOWNSHIP, b.area_code))
        away = attrs.evolve(ordered[0], area_code="450324100")  # to another county
        zone = Area(code="450323-Z", name="开发区", tier=Tier.TOWNSHIP, parent_code=COUNTY)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many([zone])
            uow.businesses.upsert_many([attrs.evolve(ordered[1], area_code=zone.code)])
            uow.commit()
        new_areas = [
            Area(code=f"450323-N{i}", name=f"新区{i}", tier=Tier.TOWNSHIP, parent_code=COUNTY)
            for i in range(30)
        ]
        township = Scope("乡镇用户", Role.OFFICE, TOWNSHIP)
        refusals: list[tuple[Scope, Callable[[Any], object], type[Exception] | tuple[Any, ...]]]
        refusals = [
            (township, lambda u: u.businesses.upsert_many([*in_township, outside]), ScopeError),
            (
                SYSTEM,
                lambda u: u.businesses.upsert_many([*renamed, away]),
                (StructureError, InvalidAreaCodeError),
            ),
            (
                SYSTEM,
                lambda u: u.areas.upsert_many(
                    [*new_areas, attrs.evolve(zone, parent_code="450324")]
                ),
                InvalidAreaCodeError,
            ),
        ]
        assert len(in_township) > 3 * 8 and len(renamed) > 3 * 8
        before = self._stored(loaded)
        for scope, write, refusal in refusals:
            with self.small_batches(8), loaded.unit_of_work(scope) as uow:
                with pytest.raises(refusal):
                    write(uow)
                if then == "write and commit":  # the caller goes on with its unit
                    uow.businesses.upsert_many([attrs.evolve(in_township[0], name="另一家")])
                if then.endswith("commit"):
                    with pytest.raises(UnitFailedError) as failed:
                        uow.commit()
                    assert failed.value.code == "unit_failed"
                elif then == "rollback":
                    uow.rollback()
            assert self._stored(loaded) == before, (then, refusal)

    @pytest.mark.parametrize("end", ["commit", "rollback"])
    def test_a_unit_ends_at_commit_or_rollback(
        self, loaded: Store, roster: Roster, end: str
    ) -> None:
        """Once committed or rolled back, a unit refuses any use with one typed error, and
        nothing it is asked to write lands; rollback() again does nothing."""
        first, second = sorted(roster.businesses.values(), key=_key)[:2]
        renamed = attrs.evolve(first, name="改名饭店")
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.businesses.upsert_many([renamed])
            getattr(uow, end)()
            uses: list[Callable[[], object]] = [
                lambda: uow.businesses.upsert_many([attrs.evolve(second, name="又一家")]),
                lambda: uow.businesses.get(first.key),
                lambda: list(uow.businesses.stream()),
                uow.claim_writes,
                uow.commit,
            ]
            for use in uses:
                with pytest.raises(UnitEndedError) as ended:
                    use()
                assert ended.value.code == "unit_ended"
                assert ended.value.message_zh and ended.value.message_en
            uow.rollback()  # does nothing
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(first.key) == (renamed if end == "commit" else first)
            assert uow.businesses.get(second.key) == second

    def test_a_unit_is_used_by_one_thread_at_a_time(self, loaded: Store, roster: Roster) -> None:
        """A write (or commit) from a second thread while one writes is refused and fails
        the unit: nothing of it is stored. Handing a unit over to another thread works."""
        first, second, third = sorted(roster.businesses.values(), key=_key)[:3]
        inside, go_on = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def slow() -> Iterable[FoodBusiness]:
            yield attrs.evolve(first, name="甲")
            inside.set()  # the writing thread is inside upsert_many now
            go_on.wait(10)
            yield attrs.evolve(second, name="乙")

        with loaded.unit_of_work(SYSTEM) as uow:

            def write() -> None:
                try:
                    uow.businesses.upsert_many(slow())
                except BaseException as error:  # pragma: no cover - reported below
                    errors.append(error)

            thread = self._in_thread(write)
            assert inside.wait(10)
            with pytest.raises(UnitInUseError) as busy:
                uow.businesses.upsert_many([attrs.evolve(third, name="丙")])
            assert busy.value.code == "unit_in_use"
            with pytest.raises(UnitInUseError):
                uow.commit()
            go_on.set()
            thread.join(30)
            assert errors == []
            with pytest.raises(UnitFailedError):
                uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert [uow.businesses.get(b.key) for b in (first, second, third)] == [
                first,
                second,
                third,
            ]
        with loaded.unit_of_work(SYSTEM) as uow:  # handed over: one thread after another
            uow.businesses.upsert_many([attrs.evolve(first, name="甲")])
            self._in_thread(
                lambda: uow.businesses.upsert_many([attrs.evolve(second, name="乙")])
            ).join(30)
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(second.key) == attrs.evolve(second, name="乙")

    # --- writers taking turns (UnitOfWork.claim_writes) -------------------------------

    @staticmethod
    def _in_thread(work: Callable[[], object]) -> threading.Thread:
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        return thread

    def test_a_writer_claiming_after_another_reads_what_that_one_committed(
        self, loaded: Store, roster: Roster
    ) -> None:
        """The second claim waits for the first unit to end; its reads then see the first
        unit's commit (so it never writes over a row it did not read)."""
        business = min(roster.businesses.values(), key=_key)
        renamed = attrs.evolve(business, name="改名饭店")
        claimed = threading.Event()
        seen: list[FoodBusiness | None] = []

        def second() -> None:
            claimed.wait(10)
            with loaded.unit_of_work(SYSTEM) as uow:
                uow.claim_writes()
                seen.append(uow.businesses.get(business.key))

        thread = self._in_thread(second)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.claim_writes()
            assert uow.businesses.get(business.key) == business
            claimed.set()
            time.sleep(0.3)  # the second unit waits for the claim meanwhile
            uow.businesses.upsert_many([renamed])
            uow.commit()
        thread.join(30)
        assert seen == [renamed]

    def test_a_claim_waits_at_most_writes_wait_then_is_refused_as_busy(
        self, loaded: Store, roster: Roster
    ) -> None:
        refused: list[WritesBusyError] = []

        def second() -> None:
            with loaded.unit_of_work(SYSTEM) as uow:
                uow.writes_wait = 0.2
                try:
                    uow.claim_writes()
                except WritesBusyError as error:
                    refused.append(error)

        with loaded.unit_of_work(SYSTEM) as uow:
            uow.claim_writes()
            started = time.monotonic()
            self._in_thread(second).join(30)
            waited = time.monotonic() - started
        assert [e.code for e in refused] == ["writes_busy"]
        assert "另一项写入正在进行" in refused[0].message_zh
        assert 0.15 < waited < 5

    def test_readers_never_wait_for_a_claimed_writer(self, loaded: Store, roster: Roster) -> None:
        business = min(roster.businesses.values(), key=_key)
        read: list[FoodBusiness | None] = []

        def reader() -> None:
            with loaded.unit_of_work(SYSTEM) as uow:
                read.append(uow.businesses.get(business.key))

        with loaded.unit_of_work(SYSTEM) as uow:
            uow.claim_writes()
            uow.businesses.upsert_many([attrs.evolve(business, name="改名饭店")])
            started = time.monotonic()
            self._in_thread(reader).join(30)
            assert time.monotonic() - started < 2
            uow.commit()
        assert read == [business]  # what was committed when it read

    # --- queries ----------------------------------------------------------------------

    def test_streams_and_counts_within_an_area(self, loaded: Store, roster: Roster) -> None:
        hierarchy = roster.hierarchy
        inside = sorted(
            (b for b in roster.businesses.values() if hierarchy.contains(TOWNSHIP, b.area_code)),
            key=lambda b: b.key,
        )
        with loaded.unit_of_work(SYSTEM) as uow:
            assert list(uow.businesses.stream(within=TOWNSHIP)) == inside
            assert uow.businesses.count(within=TOWNSHIP) == len(inside)
            assert uow.businesses.count() == len(roster.businesses)
            cadres = [
                c for c in roster.cadres.values() if hierarchy.contains(TOWNSHIP, c.area_code)
            ]
            assert uow.cadres.count(within=TOWNSHIP) == len(cadres)
            assert uow.cadres.count(within="4503") == len(roster.cadres)
            assert uow.cadres.count() == len(roster.cadres)

    def test_pages_of_businesses_and_cadres_are_slices_of_the_stream(self, loaded: Store) -> None:
        with loaded.unit_of_work(SYSTEM) as uow:
            for within in (None, TOWNSHIP):
                every = list(uow.businesses.stream(within=within))
                assert len(every) >= 3
                for offset, limit in ((0, 2), (1, 2), (len(every) - 1, 5), (len(every), 5)):
                    page = uow.businesses.page(within=within, offset=offset, limit=limit)
                    assert page == every[offset : offset + limit], (within, offset, limit)
            cadres = list(uow.cadres.stream(within="4503"))
            assert uow.cadres.page(within="4503", offset=1, limit=2) == cadres[1:3]

    def test_a_page_after_a_key_is_the_stream_past_it(self, loaded: Store) -> None:
        """Keyset paging: ``page(after=k)`` is the stream's records whose key sorts after
        ``k``, whether ``k`` is stored, lies between stored keys, or sorts before or after
        them all; under ``within`` too, and from an offset among them."""
        with loaded.unit_of_work(SYSTEM) as uow:
            for within in (None, TOWNSHIP):
                every = list(uow.businesses.stream(within=within))
                keys = [b.key for b in every]
                assert len(every) >= 3
                middle = keys[len(keys) // 2]
                unstored = (middle + " ", middle[:-1], "", "\uffff")
                assert not set(unstored) & set(keys)
                for after in (keys[0], middle, keys[-2], keys[-1], *unstored):
                    past = [b for b in every if b.key > after]
                    for offset, limit in ((0, 2), (0, len(every) + 1), (1, 2)):
                        page = uow.businesses.page(
                            within=within, after=after, offset=offset, limit=limit
                        )
                        assert page == past[offset : offset + limit], (within, after, offset)
                # pages chained by their last keys walk the whole stream
                walked, last = [], None
                while chunk := uow.businesses.page(within=within, after=last, limit=2):
                    walked += chunk
                    last = chunk[-1].key
                assert walked == every
            cadres = list(uow.cadres.stream(within="4503"))
            for cadre in (cadres[0], cadres[-1]):
                later = [c for c in cadres if c.id > cadre.id]
                assert uow.cadres.page(within="4503", after=cadre.id, limit=3) == later[:3]

    def test_businesses_are_found_by_part_of_a_name_or_code(self, loaded: Store) -> None:
        with loaded.unit_of_work(SYSTEM) as uow:
            every = list(uow.businesses.stream())
            some = every[len(every) // 2]
            part = some.name[1:3]
            assert uow.businesses.search(part, limit=1000) == [
                b
                for b in every
                if any(part.lower() in (v or "").lower() for v in (b.name, b.licence_no, b.uscc))
            ]
            code = some.key[-6:].lower()  # codes in any case
            assert some in uow.businesses.search(code, limit=1000)
            assert uow.businesses.search("%", limit=1000) == []  # a plain character
            inside = uow.businesses.search(part, within=TOWNSHIP, limit=1000)
            assert all(b.area_code.startswith(TOWNSHIP) for b in inside)
            assert len(uow.businesses.search(part, limit=1)) == 1
            found = uow.businesses.search(part, limit=1000)
            pages = [uow.businesses.search(part, offset=i, limit=2) for i in range(0, 6, 2)]
            assert [b for page in pages for b in page] == found[:6]  # pages follow on

    def test_businesses_are_found_by_credit_code(self, loaded: Store) -> None:
        with loaded.unit_of_work(SYSTEM) as uow:
            coded = [b for b in uow.businesses.stream() if b.uscc and b.licence_no]
            first, second = coded[0], coded[-1]
            assert first.uscc is not None
            uow.businesses.upsert_many([attrs.evolve(second, uscc=first.uscc)])  # one company
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            codes = {b.uscc or "" for b in coded[1:-1]} | {first.uscc, "no-such-code"}
            expected: dict[str, list[str]] = {}
            for b in uow.businesses.stream():
                if b.uscc and b.uscc in codes:
                    expected.setdefault(b.uscc, []).append(b.key)
            assert uow.businesses.keys_by_uscc(codes) == {c: sorted(k) for c, k in expected.items()}
            assert sorted(uow.businesses.keys_by_uscc([first.uscc])[first.uscc]) == sorted(
                {first.key, second.key}
            )
        township = Scope("乡镇用户", Role.OFFICE, TOWNSHIP)
        with loaded.unit_of_work(township) as uow:
            seen = {b.key for b in uow.businesses.stream()}
            found = uow.businesses.keys_by_uscc(codes)
            assert {k for keys in found.values() for k in keys} == {
                k for keys in expected.values() for k in keys if k in seen
            }
            outside = {c for c, keys in expected.items() if not set(keys) & seen}
            assert outside and uow.businesses.uscc_filed_outside(codes) == outside
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.uscc_filed_outside(codes) == set()

    def test_assignments_apply_a_plan_and_query(self, loaded: Store, roster: Roster) -> None:
        plan = plan_assignments(roster, national_rules(), ON, PlanMode.FRESH)
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.assignments.apply(plan).inserted == len(plan.creates)
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            stored = list(uow.assignments.stream())
            assert len(stored) == len(plan.creates)
            assert uow.assignments.count(active_on=ON) == len(plan.creates)
            assert uow.assignments.count(active_on=date(2025, 6, 29)) == 0
            first = stored[0]
            assert list(uow.assignments.stream(business_key=first.business_key)) == [first]
            some = {a.business_key for a in stored[:5]}
            assert list(uow.assignments.stream(business_keys=some)) == stored[:5]
            mine = list(uow.assignments.stream(cadre_id=first.cadre_id))
            assert all(a.cadre_id == first.cadre_id for a in mine) and first in mine
            in_township = [
                a
                for a in stored
                if roster.hierarchy.contains(TOWNSHIP, roster.businesses[a.business_key].area_code)
            ]
            assert list(uow.assignments.stream(within=TOWNSHIP)) == in_township
            again = plan_assignments(roster.with_assignments(stored), national_rules(), ON)
            assert again.is_empty

    def test_ending_an_assignment_keeps_history(self, loaded: Store, roster: Roster) -> None:
        business = next(iter(roster.businesses.values()))
        cadre = next(c for c in roster.cadres.values() if c.tier is Tier.VILLAGE)
        started = Assignment(cadre.id, business.key, date(2024, 1, 1))
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.assignments.upsert_many([started])
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            ended = attrs.evolve(started, valid_to=ON, reason=AssignmentReason.CADRE_LEFT)
            assert uow.assignments.upsert_many([ended]) == UpsertResult(0, 1, 0)
            assert uow.assignments.upsert_many([ended]) == UpsertResult(0, 0, 1)
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert list(uow.assignments.stream(business_key=business.key)) == [ended]
            assert uow.assignments.count(active_on=ON) == 0

    def test_assignments_need_known_records(self, loaded: Store, roster: Roster) -> None:
        cadre = next(iter(roster.cadres.values()))
        with pytest.raises(UnknownRecordError), loaded.unit_of_work(SYSTEM) as uow:
            uow.assignments.upsert_many([Assignment(cadre.id, "JY00000000000000", ON)])

    # --- scope ------------------------------------------------------------------------

    def test_scope_limits_reads(self, loaded: Store, roster: Roster) -> None:
        hierarchy = roster.hierarchy
        township = Scope("乡镇用户", Role.OFFICE, TOWNSHIP)
        outside = next(
            b for b in roster.businesses.values() if not hierarchy.contains(TOWNSHIP, b.area_code)
        )
        with loaded.unit_of_work(township) as uow:
            assert uow.businesses.get(outside.key) is None
            seen = list(uow.businesses.stream())
            assert seen and all(hierarchy.contains(TOWNSHIP, b.area_code) for b in seen)
            assert uow.businesses.count() == len(seen)
            with pytest.raises(ScopeError):
                list(uow.businesses.stream(within="450323102"))

    @pytest.fixture
    def two_counties(self, loaded: Store, roster: Roster) -> tuple[Roster, list[Assignment]]:
        """The roster of ``loaded`` and one of another county (``OTHER_COUNTY``) stored
        together, each with a fresh plan applied: the whole roster and every assignment."""
        drawn = synthetic_roster(
            demo_region().subtree(OTHER_COUNTY),
            businesses=60,
            cadres=20,
            seed=5,
            within=OTHER_COUNTY,
        )
        other = Roster.build(  # its cadres above the county are those of ``roster`` too
            drawn.hierarchy,
            drawn.businesses.values(),
            [c for c in drawn.cadres.values() if c.area_code.startswith(OTHER_COUNTY)],
        )
        assert not set(other.businesses) & set(roster.businesses)
        assert not set(other.cadres) & set(roster.cadres)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many(other.hierarchy)
            uow.businesses.upsert_many(other.businesses.values())
            uow.cadres.upsert_many(other.cadres.values())
            for one in (roster, other):
                uow.assignments.apply(plan_assignments(one, national_rules(), ON, PlanMode.FRESH))
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            stored = list(uow.assignments.stream())
        both = Roster.build(
            demo_region(),
            [*roster.businesses.values(), *other.businesses.values()],
            [*roster.cadres.values(), *other.cadres.values()],
            stored,
        )
        assert {roster.businesses[k].area_code[:6] for k in roster.businesses} == {COUNTY}
        assert any(a.business_key in other.businesses for a in stored)
        assert any(a.business_key in roster.businesses for a in stored)
        return both, stored

    @pytest.mark.parametrize("area", [TOWNSHIP, COUNTY])
    def test_scope_limits_cadre_and_assignment_reads(
        self, loaded: Store, two_counties: tuple[Roster, list[Assignment]], area: str
    ) -> None:
        """An office sees the cadres filed in its area and the assignments of businesses
        filed there, by every read: get, get_many, stream, count, page and each filter;
        nothing of another township or county."""
        both, stored = two_counties
        hierarchy = both.hierarchy

        def inside(code: str) -> bool:
            return hierarchy.contains(area, code)

        cadres = sorted(both.cadres.values(), key=lambda c: c.id)
        ours = [c for c in cadres if inside(c.area_code)]
        theirs = [c for c in cadres if not inside(c.area_code)]
        held = [a for a in stored if inside(both.businesses[a.business_key].area_code)]
        unseen = [a for a in stored if not inside(both.businesses[a.business_key].area_code)]
        assert ours and theirs and held and unseen
        office = Scope("辖区用户", Role.OFFICE, area)
        with loaded.unit_of_work(office) as uow:
            for cadre in theirs:
                assert uow.cadres.get(cadre.id) is None, cadre.id
            assert uow.cadres.get(ours[0].id) == ours[0]
            asked = [c.id for c in cadres] + ["no-such-cadre"]
            assert uow.cadres.get_many(asked) == {c.id: c for c in ours}
            assert uow.cadres.get_many([c.id for c in theirs]) == {}
            assert list(uow.cadres.stream()) == ours
            assert uow.cadres.count() == len(ours)
            assert uow.cadres.page(offset=0, limit=len(cadres)) == ours
            for cadre in (theirs[0], ours[0], theirs[-1]):  # keyset pages keep to the scope
                past = [c for c in ours if c.id > cadre.id]
                assert uow.cadres.page(after=cadre.id, limit=len(cadres)) == past
            businesses = sorted(both.businesses.values(), key=lambda b: b.key)
            mine = [b for b in businesses if inside(b.area_code)]
            for business in (businesses[0], businesses[len(businesses) // 2]):
                later = [b for b in mine if b.key > business.key]
                assert uow.businesses.page(after=business.key, limit=len(businesses)) == later
            assert list(uow.assignments.stream()) == held
            assert uow.assignments.count() == len(held)
            assert uow.assignments.count(active_on=ON) == len(held)
            assert list(uow.assignments.stream(county_code=OTHER_COUNTY)) == []
            assert list(uow.assignments.stream(county_code=COUNTY)) == held
            some_unseen = {a.business_key for a in unseen[:10]}
            assert list(uow.assignments.stream(business_keys=some_unseen)) == []
            for assignment in unseen[:10]:
                assert list(uow.assignments.stream(business_key=assignment.business_key)) == []
            for cadre in theirs[:10]:
                assert [a for a in uow.assignments.stream(cadre_id=cadre.id) if a not in held] == []
            assert uow.businesses.get_many(list(both.businesses)) == {
                k: b for k, b in both.businesses.items() if inside(b.area_code)
            }

    def test_streams_by_county_for_assignments_and_tasks(
        self, loaded: Store, two_counties: tuple[Roster, list[Assignment]]
    ) -> None:
        """``county_code`` keeps the records of one county (here there are two), and
        ``county_codes`` names the counties that hold some."""
        both, stored = two_counties
        counties = [COUNTY, OTHER_COUNTY]

        def county(key: str) -> str:
            return both.businesses[key].area_code[:6]

        plan = _grade_dependent_plan(Period.parse("2025Q3"), ON)
        with loaded.unit_of_work(SYSTEM) as uow:
            synced = uow.tasks.sync(plan)
            uow.commit()
        assert synced.tasks > 0
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.county_codes() == counties
            tasks = list(uow.tasks.stream())
            assert len(tasks) == synced.tasks
            assert uow.tasks.county_codes() == sorted({county(t.business_key) for t in tasks})
            assert uow.tasks.county_codes() == counties
            assert uow.tasks.county_codes(within=TOWNSHIP) == [COUNTY]
            assert uow.tasks.county_codes(within=OTHER_COUNTY) == [OTHER_COUNTY]
            for code in counties:
                mine = [a for a in stored if county(a.business_key) == code]
                assert mine, code
                assert list(uow.assignments.stream(county_code=code)) == mine, code
                assert [
                    a.business_key for a in uow.assignments.stream(county_code=code, active_on=ON)
                ] == [a.business_key for a in mine if a.is_active(ON)], code
                assert [t.key for t in uow.tasks.stream(county_code=code)] == [
                    t.key for t in tasks if county(t.business_key) == code
                ], code
                assert [b.key for b in uow.businesses.stream(county_code=code)] == sorted(
                    k for k in both.businesses if county(k) == code
                ), code
            assert list(uow.assignments.stream(county_code="450325")) == []

    def test_get_many_gives_every_stored_key_asked_for(self, loaded: Store, roster: Roster) -> None:
        businesses = sorted(roster.businesses.values(), key=lambda b: b.key)
        cadres = sorted(roster.cadres.values(), key=lambda c: c.id)
        with loaded.unit_of_work(SYSTEM) as uow:
            for wanted in (businesses[:3], businesses[::7], businesses):
                asked = [b.key for b in wanted] + ["JY00000000000000"]
                assert uow.businesses.get_many(asked) == {b.key: b for b in wanted}
            assert uow.businesses.get_many([]) == {}
            assert uow.businesses.get_many(["JY00000000000000"]) == {}
            for some in (cadres[:3], cadres[::5], cadres):
                asked = [c.id for c in some] + ["no-such-cadre"]
                assert uow.cadres.get_many(asked) == {c.id: c for c in some}
            assert uow.cadres.get_many([]) == {}
            assert uow.cadres.get_many(["no-such-cadre"]) == {}

    def test_scope_limits_writes(self, loaded: Store, roster: Roster) -> None:
        hierarchy = roster.hierarchy
        outside = next(
            b for b in roster.businesses.values() if not hierarchy.contains(TOWNSHIP, b.area_code)
        )
        township = Scope("乡镇用户", Role.OFFICE, TOWNSHIP)
        with pytest.raises(ScopeError), loaded.unit_of_work(township) as uow:
            uow.businesses.upsert_many([attrs.evolve(outside, grade=Grade.A)])
        reader = Scope("访客", Role.READ_ONLY, None)
        with pytest.raises(ScopeError), loaded.unit_of_work(reader) as uow:
            uow.businesses.upsert_many([attrs.evolve(outside, grade=Grade.A)])
        with pytest.raises(ScopeError), loaded.unit_of_work(township) as uow:
            uow.areas.upsert_many(
                [Area(code="450323-X", name="新区", tier=Tier.TOWNSHIP, parent_code=COUNTY)]
            )

    # --- visits, letters, routine records, problems -----------------------------------

    @pytest.fixture
    def records(self, loaded: Store, roster: Roster) -> dict[str, tuple[Any, Any]]:
        """Of each kind, one record filed inside ``TOWNSHIP`` and one outside it, stored."""
        hierarchy = roster.hierarchy
        by_key = sorted(roster.businesses.values(), key=lambda b: b.key)
        inside = next(b for b in by_key if hierarchy.contains(TOWNSHIP, b.area_code))
        outside = next(b for b in by_key if not hierarchy.contains(TOWNSHIP, b.area_code))
        cadres = sorted(roster.cadres.values(), key=lambda c: c.id)
        ours = next(c for c in cadres if hierarchy.contains(TOWNSHIP, c.area_code))
        theirs = next(c for c in cadres if not hierarchy.contains(TOWNSHIP, c.area_code))
        found = {
            kind: (make(inside, ours), make(outside, theirs))
            for kind, make in (
                ("visits", _visit),
                ("letters", _letter),
                ("duties", _duty),
                ("problems", _problem),
            )
        }
        with loaded.unit_of_work(SYSTEM) as uow:
            for kind, pair in found.items():
                assert getattr(uow, kind).upsert_many(pair) == UpsertResult(2, 0, 0), kind
            uow.commit()
        return found

    def test_visits_letters_routines_and_problems_round_trip(
        self, loaded: Store, records: dict[str, tuple[Any, Any]]
    ) -> None:
        with loaded.unit_of_work(SYSTEM) as uow:
            for kind, pair in records.items():
                repository = getattr(uow, kind)
                for record in pair:
                    assert repository.get(_key(record)) == record, kind
                wanted = [_key(r) for r in pair]
                assert repository.get_many([*wanted, "no-such-key"]) == {
                    _key(r): r for r in pair
                }, kind
            visit = records["visits"][0]
            assert list(uow.visits.stream(business_key=visit.business_key)) == [visit]
            day = (visit.visited_on, visit.visited_on)
            assert set(uow.visits.stream(between=day)) == set(records["visits"])
            assert list(uow.visits.stream(cadre_id=visit.cadre_id)) == [visit]
            letter = records["letters"][0]
            assert list(uow.letters.stream(year=letter.year, cadre_id=letter.cadre_id)) == [letter]
            duty = records["duties"][0]
            assert list(uow.duties.stream(business_key=duty.business_key)) == [duty]
            assert list(uow.duties.stream(kind=DutyKind.WEEKLY)) == []
            problem = records["problems"][0]
            assert problem.deadline is not None
            after = problem.deadline + timedelta(days=1)
            assert set(uow.problems.stream(open_on=after)) == set(records["problems"])
            assert list(uow.problems.stream(open_on=problem.deadline)) == []  # not yet overdue
            assert list(uow.problems.stream(severity=Severity.MAJOR)) == []
            before = len(list(uow.audit.entries()))
            for kind, pair in records.items():  # the same again: nothing changes
                assert getattr(uow, kind).upsert_many(pair) == UpsertResult(0, 0, 2), kind
            assert len(list(uow.audit.entries())) == before

    def test_visits_letters_routines_and_problems_in_scope_only(
        self, loaded: Store, records: dict[str, tuple[Any, Any]]
    ) -> None:
        township = Scope("乡镇用户", Role.OFFICE, TOWNSHIP)
        with loaded.unit_of_work(township) as uow:
            for kind, (inside, outside) in records.items():
                repository = getattr(uow, kind)
                assert repository.get(_key(inside)) == inside, kind
                assert repository.get(_key(outside)) is None, kind
                assert list(repository.stream()) == [inside], kind
        for kind, (_, outside) in records.items():
            with pytest.raises(ScopeError), loaded.unit_of_work(township) as uow:
                getattr(uow, kind).upsert_many([outside])

    def test_pages_and_counts_of_problems_are_slices_of_the_stream(
        self, loaded: Store, roster: Roster
    ) -> None:
        """A ledger page is its slice of :meth:`stream` under every filter, the overdue
        one too (problems that changed after the day are judged as they stood on it);
        a capped count, the length of the slice from the offset on."""
        businesses = sorted(roster.businesses.values(), key=lambda b: b.key)[:14]
        cadre = min(roster.cadres)
        problems = []
        for i, business in enumerate(businesses):
            found_on = date(2025, 6, 1 + i % 3)
            found = Problem(
                f"{business.key}/{found_on}/page",
                business.key,
                business.area_code,
                ProblemSource.VISIT,
                "进货查验记录不全",
                Severity.MINOR if i % 3 else Severity.MAJOR,
                found_on,
                cadre,
            )
            at = datetime(2025, 6, 5, 10, tzinfo=CHINA_TZ)
            if i % 4:
                deadline = date(2025, 6, 30) if i % 4 == 3 else date(2025, 6, 10)
                found, _ = transition(found, Action.ORDER, actor=cadre, at=at, deadline=deadline)
            if i % 4 == 2:  # overdue on 15 June as it stood then, referred since
                later = datetime(2025, 6, 20, 10, tzinfo=CHINA_TZ)
                found, _ = transition(found, Action.REFER, actor=cadre, at=later, note="立案")
            problems.append(found)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.problems.upsert_many(problems)
            uow.commit()
        days = (None, date(2025, 6, 15), date(2025, 7, 5))
        every_filter = [
            {"open_on": day, "status": status, "severity": severity, "within": within}
            for day in days
            for status in (None, ProblemStatus.RECTIFYING)
            for severity in (None, Severity.MINOR)
            for within in (None, COUNTY, TOWNSHIP)
        ]
        with loaded.unit_of_work(SYSTEM) as uow:
            for filters in every_filter:
                every = list(uow.problems.stream(**filters))  # type: ignore[arg-type]
                for offset in sorted({0, 1, 2, 5, max(len(every) - 1, 0), len(every) + 1}):
                    for limit in (1, 3):
                        page = uow.problems.page(**filters, offset=offset, limit=limit)  # type: ignore[arg-type]
                        assert page == every[offset : offset + limit], (filters, offset, limit)
                    for cap in (None, 2):
                        end = None if cap is None else offset + cap
                        counted = uow.problems.count(**filters, offset=offset, cap=cap)  # type: ignore[arg-type]
                        assert counted == len(every[offset:end]), (filters, offset, cap)
                for after in {every[0].id, every[-1].id, every[0].id + " "} if every else ():
                    past_it = [p for p in every if p.id > after]
                    page = uow.problems.page(**filters, after=after, limit=3)  # type: ignore[arg-type]
                    assert page == past_it[:3], (filters, after)
            overdue = list(uow.problems.stream(open_on=date(2025, 6, 15)))
            assert {p.id for p in overdue} >= {problems[2].id, problems[1].id}  # replayed too

    # --- imports ----------------------------------------------------------------------

    def test_import_log(self, store: Store) -> None:
        record = ImportRecord(
            "ab" * 32, "businesses", "台账.xlsx", "王科长", "2025-06-30T00:00:00", 3, 3, 0
        )
        with store.unit_of_work(SYSTEM) as uow:
            assert uow.imports.find(record.sha256) is None
            uow.imports.record(record)
            uow.commit()
        with store.unit_of_work(SYSTEM) as uow:
            assert uow.imports.find(record.sha256) == record
        other = attrs.evolve(record, sha256="cd" * 32)
        reader = Scope("访客", Role.READ_ONLY, None)
        with pytest.raises(ScopeError), store.unit_of_work(reader) as uow:
            uow.imports.record(other)
        with store.unit_of_work(SYSTEM) as uow:
            assert uow.imports.find(other.sha256) is None

    # --- rankings ---------------------------------------------------------------------

    def test_a_ranking_is_seen_only_by_scopes_holding_its_parent(
        self, loaded: Store, hierarchy: Hierarchy
    ) -> None:
        spec = KpiSpec("coverage", "包保覆盖率", "coverage", "分子", "分母", HIGHER, "定义", "d")
        townships = [a.code for a in hierarchy.children(COUNTY)][:3]

        def ranking(day: date, previous: Ranking | None = None) -> Ranking:
            values = [KpiValue("coverage", t, "2025Q2", i + 1, 4) for i, t in enumerate(townships)]
            spec_of = {"coverage": spec}
            return rank_areas(COUNTY, "2025Q2", values, spec_of, as_of=day, previous=previous)

        first, second = ranking(date(2025, 6, 1)), ranking(date(2025, 6, 2))
        county = Scope("县用户", Role.OFFICE, COUNTY)
        township = Scope("乡镇用户", Role.OFFICE, TOWNSHIP)
        with pytest.raises(ScopeError), loaded.unit_of_work(township) as uow:
            uow.rankings.record(RankingRun(first, "2025-06-01T00:00:00", "乡镇用户"))
        with loaded.unit_of_work(county) as uow:
            assert uow.rankings.record(RankingRun(first, "2025-06-01T00:00:00", "县用户"))
            uow.commit()
        reader = Scope("县访客", Role.READ_ONLY, COUNTY)
        with loaded.unit_of_work(reader) as uow:
            assert uow.rankings.get(first.inputs_hash) is not None
            found = uow.rankings.previous(second)
            assert found is not None and found.ranking == first
        for below in (townships[0], TOWNSHIP):  # a township sees no ranking of its county
            with loaded.unit_of_work(Scope("乡镇访客", Role.READ_ONLY, below)) as uow:
                assert uow.rankings.get(first.inputs_hash) is None
                assert uow.rankings.previous(second) is None

    def test_a_business_moves_within_its_county_only(self, loaded: Store, roster: Roster) -> None:
        """Within its county a business takes its assignment history along (filed under its
        new area, none left under the old one); the write names it moved. Licences are
        issued by the county, so a move to another county is a new registration there: it
        is refused — an error naming the key, the county it is filed in and the new one, in
        Chinese and English — and nothing of the write changes (its problems, visits and
        tasks stay with the county that keeps them)."""
        hierarchy = roster.hierarchy
        business, other = sorted(roster.businesses.values(), key=lambda b: b.key)[:2]
        cadre = next(iter(roster.cadres.values()))
        township = next(
            a.code
            for a in hierarchy.children(COUNTY)
            if not hierarchy.contains(a.code, business.area_code)
        )
        history = [
            Assignment(cadre.id, business.key, date(2025, 1, 1), date(2025, 7, 1)),
            Assignment(cadre.id, business.key, date(2025, 7, 1)),
        ]
        moved = attrs.evolve(business, area_code=township)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.assignments.upsert_many(history)
            uow.areas.upsert_many(demo_region().subtree("450324"))
            written = uow.businesses.upsert_many([moved, other])
            assert written == UpsertResult(0, 1, 1) and written.moved == (business.key,)
            uow.commit()
        keys = {business.key}
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(business.key) == moved
            assert list(uow.assignments.stream(business_keys=keys, within=township)) == history
            old = hierarchy.ancestor_codes(business.area_code).get(Tier.TOWNSHIP)
            if old is not None:  # none left where it was
                assert list(uow.assignments.stream(business_keys=keys, within=old)) == []
        renamed = attrs.evolve(other, name=other.name + "新店")
        away = attrs.evolve(moved, area_code="450324100")
        with (
            pytest.raises((StructureError, InvalidAreaCodeError)) as refused,
            loaded.unit_of_work(SYSTEM) as uow,
        ):
            uow.businesses.upsert_many([renamed, away])
        for text in (refused.value.message_zh, refused.value.message_en):
            assert business.key in text, text
            rest = text.replace(business.key, "")  # a licence number holds its county's code
            assert COUNTY in rest and "450324" in rest, text
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.businesses.get(business.key) == moved
            assert uow.businesses.get(other.key) == other
            assert uow.businesses.count(within="450324") == 0
            assert list(uow.assignments.stream(within="450324")) == []
            assert list(uow.assignments.stream(business_keys=keys, within=township)) == history

    def test_a_business_moved_within_its_county_takes_its_problems_along(
        self, loaded: Store, roster: Roster
    ) -> None:
        """Its problems, open and closed, are its ledger: filed again under its new area
        (the new township's office lists and acts on them, the old one no longer sees
        them), audited as any update."""
        hierarchy = roster.hierarchy
        business = sorted(roster.businesses.values(), key=lambda b: b.key)[0]
        cadre = next(iter(roster.cadres.values()))
        old = hierarchy.ancestor_codes(business.area_code).get(Tier.TOWNSHIP)
        township = next(
            a.code
            for a in hierarchy.children(COUNTY)
            if not hierarchy.contains(a.code, business.area_code)
        )
        assert old is not None, business.area_code
        open_ = _problem(business, cadre)
        at = datetime(2025, 6, 3, 9, tzinfo=CHINA_TZ)
        closed = Problem(
            f"{business.key}/2025-06-02/closed",
            business.key,
            business.area_code,
            ProblemSource.VISIT,
            "餐具未消毒",
            Severity.MINOR,
            date(2025, 6, 2),
            cadre.id,
        )
        steps = [(Action.FIX_ON_SITE, cadre.id), (Action.VERIFY, "复核人"), (Action.CLOSE, "县局")]
        for action, actor in steps:
            closed, _ = transition(closed, action, actor=actor, at=at, evidence=("ev.jpg",))
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.problems.upsert_many([open_, closed])
            uow.commit()
        with loaded.unit_of_work(Scope("县局", Role.OFFICE, COUNTY)) as uow:
            uow.businesses.upsert_many([attrs.evolve(business, area_code=township)])
            uow.commit()
        refiled = [attrs.evolve(p, area_code=township) for p in (closed, open_)]
        with loaded.unit_of_work(SYSTEM) as uow:
            moves = [e for e in uow.audit.entries() if e.entity == "problem"]
            assert any(township in str(e.after) for e in moves)  # the move is audited
        with loaded.unit_of_work(Scope("乡镇用户", Role.OFFICE, township)) as uow:
            found = sorted(uow.problems.stream(business_key=business.key), key=_key)
            assert found == sorted(refiled, key=_key)
            assert uow.problems.get(open_.id) == refiled[1]
            submitted, _ = transition(
                refiled[1], Action.SUBMIT, actor="店主", at=at, evidence=("ev.jpg",)
            )
            assert uow.problems.upsert_many([submitted]) == UpsertResult(0, 1, 0)
            uow.commit()
        with loaded.unit_of_work(Scope("乡镇用户", Role.OFFICE, old)) as uow:
            assert list(uow.problems.stream(business_key=business.key)) == []
            assert uow.problems.get(open_.id) is None
        with loaded.unit_of_work(SYSTEM) as uow:
            assert len(list(uow.problems.stream(business_key=business.key, within=township))) == 2
            assert uow.audit.verify() == []

    def test_an_area_with_records_keeps_its_parent(self, loaded: Store, roster: Roster) -> None:
        """Records are filed under their area's ancestors, which scope every query: moving
        an area that holds records is refused and changes nothing; an empty one moves."""
        zone = Area(code="450323-Z", name="开发区", tier=Tier.TOWNSHIP, parent_code=COUNTY)
        empty = Area(code="450323-E", name="新区", tier=Tier.TOWNSHIP, parent_code=COUNTY)
        business = attrs.evolve(next(iter(roster.businesses.values())), area_code=zone.code)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many([*demo_region().subtree("450324"), zone, empty])
            uow.businesses.upsert_many([business])
            uow.commit()
        with pytest.raises(InvalidAreaCodeError) as raised, loaded.unit_of_work(SYSTEM) as uow:
            uow.areas.upsert_many([attrs.evolve(zone, parent_code="450324")])
        assert raised.value.field.endswith("parent_code")  # what was refused, in any words
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.areas.get(zone.code) == zone
            assert uow.businesses.count(within=COUNTY) == len(roster.businesses)
            moved = attrs.evolve(empty, parent_code="450324")
            assert uow.areas.upsert_many([moved]) == UpsertResult(0, 1, 0)
            uow.commit()
        with loaded.unit_of_work(SYSTEM) as uow:
            assert uow.areas.hierarchy().contains("450324", empty.code)

    def test_scheduling_builds_exactly_the_required_tasks(
        self, loaded: Store, roster: Roster
    ) -> None:
        """``tasks.sync`` gives what :func:`~twores.core.supervision.required_tasks` says,
        per area and, in one township, per grade; a business opened after a slot's period
        owes nothing for it; again, it changes nothing."""
        plan = _grade_dependent_plan(Period.parse("2025Q3"), ON)
        held: dict[str, list[Assignment]] = {}
        businesses = dict(roster.businesses)
        unstopped = sorted(k for k, b in businesses.items() if b.status_since is None)
        openings = (date(2025, 8, 1), date(2025, 10, 15), date(2026, 2, 1))
        for key, day in zip(unstopped[:3], openings, strict=True):
            businesses[key] = attrs.evolve(businesses[key], opened_on=day)
        with loaded.unit_of_work(SYSTEM) as uow:
            uow.businesses.upsert_many(businesses.values())
            uow.assignments.apply(plan_assignments(roster, national_rules(), ON))
            for assignment in uow.assignments.stream():
                held.setdefault(assignment.business_key, []).append(assignment)
            synced = uow.tasks.sync(plan)
            uow.commit()
        expected = required_tasks(businesses.values(), held, plan.slots)
        with loaded.unit_of_work(SYSTEM) as uow:
            assert list(uow.tasks.stream()) == sorted(expected, key=lambda t: t.key)
            again = uow.tasks.sync(plan)
        for task in expected:
            opened_on = businesses[task.business_key].opened_on
            assert opened_on is None or task.period.end >= opened_on
        owing = {t.business_key for t in expected}
        assert unstopped[0] in owing and unstopped[2] not in owing  # opened after 2025
        assert synced.tasks == len(expected) == synced.written.inserted
        assert synced.exempt == sum(t.exempt for t in expected)
        assert {t.period.kind for t in expected} == {PeriodKind.QUARTER, PeriodKind.HALF_YEAR}
        assert again.written.changed == 0 and again.retired == 0


def _grade_dependent_plan(requested: Period, as_of: date) -> TaskPlan:
    """Quarterly everywhere except in one township, where caterers (grade B there) are
    half-yearly."""
    quarterly = task_slots(requested, Frequency(PeriodKind.QUARTER), lambda p: p.end, as_of)
    half = task_slots(requested, Frequency(PeriodKind.HALF_YEAR), lambda p: p.end, as_of)

    def grade_of(business: FoodBusiness) -> Grade:
        return Grade.B if business.business_type is BusinessType.CATERING else Grade.D

    return TaskPlan(
        requested,
        lambda area: None if area.startswith(TOWNSHIP) else quarterly,
        grade_of,
        lambda grade, area: half if grade in (Grade.A, Grade.B) else quarterly,
        grading_reads_area=False,
    )
