"""Review rev6, enterprise side: records only for operating periods, staff judged in the
status and under the bans of the day judged, banned filers refused, a director rule reading
what a profile lacks refused on SQL, and no report of days not yet come."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import twores
from twores.core.businesses import FoodBusiness, OperatingStatus, Staff, StaffMember
from twores.core.duties import bans_from_revocations, staff_problems
from twores.core.errors import PluginError, TworesError
from twores.core.ports import Store
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.duties import duty_report, import_duties
from twores.services.kpis import compute_kpis

from .helpers import ADMIN, START, load

APP = twores.build(load_entrypoints=False)
HEADER = ["序号", "许可证编号", "类型", "日期", "填报人角色", "填报人", "零风险", "发现问题"]
ID = "11010519491231002X"


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows([HEADER, *rows])
    return path


def _evolve(store: Store, key: str, **changes: Any) -> FoodBusiness:
    with store.unit_of_work(ADMIN) as uow:
        business = uow.businesses.get(key)
        assert business is not None
        changed = attrs.evolve(business, **changes)
        uow.businesses.upsert_many([changed])
        uow.commit()
    return changed


def _staff_codes(store: Store, key: str, start: date, end: date) -> list[str]:
    (mine,) = [b for b in duty_report(APP, store, ADMIN, start, end) if b.business_key == key]
    return [p.code for p in mine.staff]


def test_records_for_days_not_operating_are_refused_and_change_nothing(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    suspended, late, revoked, fine = sorted(roster.businesses)[:4]
    _evolve(store, suspended, status=OperatingStatus.SUSPENDED, status_since=date(2026, 3, 11))
    _evolve(store, late, opened_on=date(2026, 3, 15), status_since=None)
    _evolve(
        store,
        revoked,
        status=OperatingStatus.REVOKED,
        status_since=date(2026, 6, 1),
        opened_on=None,
    )
    rows = [
        ["1", suspended, "日管控", "2026-03-10", "安全员", "黄丽", "是", ""],  # still open
        ["2", suspended, "日管控", "2026-03-20", "安全员", "黄丽", "是", ""],
        ["3", late, "周排查", "2026-01-05", "安全员", "钱某", "否", "后厨地面积水"],
        ["4", revoked, "日管控", "2026-07-05", "安全员", "周某", "是", ""],
        ["5", fine, "周排查", "2026-03-02", "安全员", "钱某", "否", "冷库温度记录缺失"],
    ]
    report = import_duties(APP, store, ADMIN, _write(tmp_path / "记录.csv", rows))
    found = [(e.row, e.column, e.value, e.code) for e in report.errors]
    assert found == [
        (3, "日期", "2026-03-20", "not_operating"),
        (4, "日期", "2026-01-05", "not_operating"),
        (5, "日期", "2026-07-05", "not_operating"),
    ]
    suspended_error, late_error, revoked_error = report.errors
    assert "未在营" in suspended_error.reason_zh and "2026-03-11" in suspended_error.reason_zh
    assert "not operating" in suspended_error.reason_en
    assert "2026-03-15" in late_error.reason_zh and "opened on 2026-03-15" in late_error.reason_en
    assert "吊销" in revoked_error.reason_zh
    with store.unit_of_work(ADMIN) as uow:  # a rejected file changes nothing
        assert list(uow.duties.stream()) == []
        assert list(uow.problems.stream()) == []
    # without the refused rows, the rest goes in
    kept = [r for r in rows if r[0] in ("1", "5")]
    again = import_duties(APP, store, ADMIN, _write(tmp_path / "记录2.csv", kept))
    assert again.accepted and again.written.inserted == 2 and len(again.problems) == 1


def test_staff_gaps_are_judged_in_the_status_of_the_day(
    store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    closed = _evolve(
        store,
        key,
        status=OperatingStatus.CLOSED,
        status_since=date(2026, 6, 1),
        opened_on=date(2020, 1, 1),
        staff=Staff(),
    )
    assert [p.code for p in staff_problems(closed, date(2026, 3, 31), True)] == [
        "missing_director",
        "missing_officer",
    ]
    assert staff_problems(closed, date(2026, 6, 1), True) == []
    assert "missing_officer" in _staff_codes(store, key, date(2026, 3, 1), date(2026, 3, 31))


def test_a_revocation_ban_starts_on_the_revocation_day(store: Store, roster: twores.Roster) -> None:
    load(store, roster, START)
    revoked_key, other_key = sorted(roster.businesses)[:2]
    person = StaffMember("周某", id_number=ID)
    revoked = _evolve(
        store,
        revoked_key,
        status=OperatingStatus.REVOKED,
        status_since=date(2026, 6, 1),
        opened_on=None,
        staff=Staff(officer=person),
    )
    _evolve(store, other_key, staff=Staff(officer=person), status=OperatingStatus.OPERATING)
    assert bans_from_revocations([revoked]) == {ID: (date(2026, 6, 1), date(2031, 6, 1))}
    bans = bans_from_revocations([revoked])
    other = attrs.evolve(revoked, status=OperatingStatus.OPERATING, status_since=None)
    assert staff_problems(other, date(2026, 5, 31), False, bans) == []
    (problem,) = staff_problems(other, date(2026, 6, 1), False, bans)
    assert problem.code == "banned" and "2031-06-01" in problem.zh
    assert "banned" not in _staff_codes(store, other_key, date(2026, 3, 1), date(2026, 3, 31))
    assert "banned" in _staff_codes(store, other_key, date(2026, 6, 1), date(2026, 6, 30))


def test_a_record_by_the_recorded_officer_while_banned_is_refused(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    banned_key, stranger_key, revoked_key, later_key = sorted(roster.businesses)[:4]
    _evolve(
        store, banned_key, staff=Staff(officer=StaffMember("王某", banned_until=date(2027, 6, 30)))
    )
    _evolve(store, stranger_key, staff=Staff())
    person = StaffMember("周某", id_number=ID)
    _evolve(
        store,
        revoked_key,
        status=OperatingStatus.REVOKED,
        status_since=date(2026, 3, 1),
        opened_on=None,
        staff=Staff(director=person),
    )
    _evolve(store, later_key, staff=Staff(officer=person), status=OperatingStatus.OPERATING)
    rows = [
        ["1", banned_key, "日管控", "2026-03-03", "安全员", "王某", "是", ""],
        ["2", stranger_key, "日管控", "2026-03-03", "安全员", "路人甲", "是", ""],  # not judged
        ["3", later_key, "日管控", "2026-02-27", "安全员", "周某", "是", ""],  # before the ban
        ["4", later_key, "日管控", "2026-03-03", "安全员", "周某", "是", ""],
        ["5", banned_key, "月调度", "2026-03-03", "主要负责人", "王某", "是", ""],  # as head
    ]
    report = import_duties(APP, store, ADMIN, _write(tmp_path / "记录.csv", rows))
    found = [(e.row, e.column, e.value, e.code) for e in report.errors]
    assert found == [
        (2, "填报人", "王某", "filer_banned"),
        (5, "填报人", "周某", "filer_banned"),
    ]
    assert "禁业期内（至2027-06-30）" in report.errors[0].reason_zh
    assert "banned until 2031-03-01" in report.errors[1].reason_en
    with store.unit_of_work(ADMIN) as uow:
        assert list(uow.duties.stream()) == []


def test_a_second_record_of_a_period_reads_properly(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    rows = [
        ["1", key, "周排查", "2025-12-29", "安全员", "黄丽", "是", ""],
        ["2", key, "周排查", "2026-01-02", "安全员", "黄丽", "是", ""],
    ]
    _evolve(store, key, opened_on=None, status=OperatingStatus.OPERATING, status_since=None)
    (error,) = import_duties(APP, store, ADMIN, _write(tmp_path / "记录.csv", rows)).errors
    assert error.reason_en == (
        "repeats row 2: only one weekly check record per business for 2026-W01"
    )


def test_a_report_ending_after_today_is_refused(store: Store, roster: twores.Roster) -> None:
    load(store, roster, START)
    now = twores.today()
    with pytest.raises(TworesError) as refused:
        duty_report(APP, store, ADMIN, now - timedelta(days=3), now + timedelta(days=1))
    assert "晚于今天" in refused.value.message_zh and "after today" in refused.value.message_en
    assert duty_report(APP, store, ADMIN, now - timedelta(days=3), now)  # today is fine


RULE = Rule("test.rev6.director", "测试总监规则", "test director rule")


class _OpenedRule:
    """A director rule reading the opening day, which no business profile holds."""

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("test_rev6", "1", "测试", "test", rules=(RULE,))]

    @hookimpl(tryfirst=True)
    def twores_requires_director(self, business: FoodBusiness) -> Ruling[bool]:
        opened = business.opened_on
        return Ruling(opened is not None and opened >= date(2025, 1, 1), RULE)


class _ScaleRule(_OpenedRule):
    @hookimpl(tryfirst=True)
    def twores_requires_director(self, business: FoodBusiness) -> Ruling[bool]:
        return Ruling(business.diners is not None, RULE)


def test_a_director_rule_reading_an_unprofiled_field_is_refused_by_sql(
    store: Store, roster: twores.Roster
) -> None:
    load(store, roster, START)
    app = twores.build(load_entrypoints=False)
    app.plugins.register(_OpenedRule(), name="opened_rule")
    if isinstance(store, MemoryStore):  # memory reads each business: no profile
        compute_kpis(app, store, ADMIN, "2026Q1", fresh=True, names=["director_staffed"])
        return
    with pytest.raises(PluginError) as refused:
        compute_kpis(app, store, ADMIN, "2026Q1", fresh=True, names=["director_staffed"])
    assert "opened_rule" in refused.value.message_zh and "opened_on" in refused.value.message_zh
    assert "opened_rule" in refused.value.message_en


def test_a_director_rule_reading_the_profile_gives_the_same_kpi_on_both_backends(
    roster: twores.Roster, tmp_path: Path
) -> None:
    app = twores.build(load_entrypoints=False)
    app.plugins.register(_ScaleRule(), name="scale_rule")
    found = []
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'k.db'}")):
        load(store, roster, START)
        table = compute_kpis(app, store, ADMIN, "2026Q1", fresh=True, names=["director_staffed"])
        found.append(
            sorted(
                (a, (x.numerator, x.denominator))
                for a, x in table.values["director_staffed"].items()
            )
        )
    assert found[0] == found[1] and any(d for _, (_, d) in found[0])
