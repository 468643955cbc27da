"""Enterprise routine records: imported whole or refused, compliance per day, week and month."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.businesses import OperatingStatus, StaffMember
from twores.core.duties import DutyKind
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.services.duties import duty_report, import_duties
from twores.services.kpis import compute_kpis

from .helpers import ADMIN, START, load

APP = twores.build(load_entrypoints=False)

HEADER = ["序号", "许可证编号", "类型", "日期", "填报人角色", "填报人", "零风险", "发现问题"]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _march_records(key: str) -> list[list[str]]:
    rows = []
    for offset in range(31):
        day = date(2026, 3, 1) + timedelta(days=offset)
        if day == date(2026, 3, 10):
            continue  # one missing daily record
        rows.append(
            [str(len(rows) + 1), key, "日管控", day.isoformat(), "安全员", "黄丽", "是", ""]
        )
    for monday in ("2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"):
        rows.append(["", key, "周排查", monday, "食品安全员", "黄丽", "否", "冷库温度记录缺失"])
    rows.append(["", key, "月调度", "2026年3月28日", "主要负责人", "陈总", "否", ""])
    rows.append(["", key, "周排查", "2026-02-25", "食品安全员", "黄丽", "是", ""])  # W09
    return rows


def test_records_import_and_count_per_day_week_and_month(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    sheet = _write(tmp_path / "记录.csv", _march_records(key))
    report = import_duties(APP, store, ADMIN, sheet)
    assert report.accepted, report.errors
    assert report.written.inserted == 30 + 6 + 1
    assert import_duties(APP, store, ADMIN, sheet).written.changed == 0
    with store.unit_of_work(ADMIN) as uow:
        problems = list(uow.problems.stream(business_key=key))
    # Each weekly report's finding opened one problem, once, reported by the officer.
    assert len(problems) == 5 and {p.reporter for p in problems} == {"食品安全员黄丽"}
    assert {p.source for p in problems} == {twores.ProblemSource.WEEKLY_REPORT}
    app = twores.build(load_entrypoints=False)
    (mine,) = [
        b
        for b in duty_report(app, store, ADMIN, date(2026, 3, 1), date(2026, 3, 31))
        if b.business_key == key
    ]
    daily, weekly, monthly = mine.compliance
    assert (daily.kind, daily.due, daily.kept) == (DutyKind.DAILY, 31, 30)
    assert [str(p) for p in daily.missing] == ["2026-03-10"]
    assert (weekly.due, weekly.kept) == (5, 5)  # ISO weeks 9-13 end in March; W14 in April
    assert (monthly.due, monthly.kept, monthly.rate) == (1, 1, 1.0)
    assert {p.code for p in mine.staff} == {"missing_officer"}


def test_suspended_days_owe_no_daily_record_and_banned_staff_is_flagged(
    store: Store, roster: twores.Roster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("twores.services.kpis.today", lambda: date(2027, 4, 1))  # counted in 2027
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    with store.unit_of_work(ADMIN) as uow:
        business = uow.businesses.get(key)
        assert business is not None
        officer = StaffMember("黄丽", banned_until=date(2027, 1, 1))
        uow.businesses.upsert_many(
            [
                attrs.evolve(
                    business,
                    status=OperatingStatus.SUSPENDED,
                    status_since=date(2026, 3, 16),
                    staff=attrs.evolve(business.staff, officer=officer),
                )
            ]
        )
        uow.commit()
    app = twores.build(load_entrypoints=False)
    (mine,) = [
        b
        for b in duty_report(app, store, ADMIN, date(2026, 3, 1), date(2026, 3, 31))
        if b.business_key == key
    ]
    assert mine.compliance[0].due == 15
    assert [p.code for p in mine.staff] == ["banned"]
    area = roster.businesses[key].area_code
    officers = compute_kpis(app, store, ADMIN, "2026Q1", names=["officer_staffed"]).values
    after_ban = compute_kpis(
        app, store, ADMIN, "2027Q1", as_of=date(2027, 1, 2), names=["officer_staffed"]
    ).values
    # a banned officer is no officer (rows of the area: this business and any others)
    assert officers["officer_staffed"][area].numerator + 1 == (
        after_ban["officer_staffed"][area].numerator
    )


def test_bad_rows_refuse_the_whole_sheet(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    rows = [
        *_march_records(key)[:3],
        ["90", key, "周排查", "2026-03-02", "主要负责人", "陈总", "否", ""],
        ["91", key, "年总结", "2026-03-02", "主要负责人", "陈总", "否", ""],
        ["92", "JY00000000000000", "日管控", "2026-03-02", "安全员", "黄丽", "是", ""],
        ["93", key, "日管控", "2026-03-05", "安全员", "黄丽", "是", "发现过期食品"],
        ["94", "JYNOPE", "日管控", "2026-03-06", "安全员", "黄丽", "也许", ""],
    ]
    report = import_duties(APP, store, ADMIN, _write(tmp_path / "坏.csv", rows))
    assert {(e.serial, e.column) for e in report.errors} == {
        ("90", "填报人角色"),
        ("91", "类型"),
        ("92", "许可证编号"),
        ("93", "发现问题"),
        ("94", "许可证编号"),  # every bad field of a row at once, its business too
        ("94", "零风险"),
    }
    assert all(e.reason_zh and e.reason_en for e in report.errors)
    (role,) = [e for e in report.errors if e.serial == "90"]
    assert role.value == "主要负责人"  # what the sheet says, not the code behind it
    with store.unit_of_work(ADMIN) as uow:
        assert list(uow.duties.stream()) == []


def test_two_rows_of_one_period_are_refused_never_merged(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    rows = [  # one week, twice: the first with a finding, the second zero-risk
        ["1", key, "周排查", "2026-03-03", "安全员", "黄丽", "否", "库房未分区"],
        ["2", key, "周排查", "2026-03-04", "安全员", "黄丽", "是", ""],
    ]
    now = datetime(2026, 3, 20, 18, tzinfo=CHINA_TZ)
    report = import_duties(APP, store, ADMIN, _write(tmp_path / "重复.csv", rows), now=now)
    assert [(e.serial, e.column, e.code) for e in report.errors] == [("2", "日期", "duplicate_key")]
    assert "第2行" in report.errors[0].reason_zh and "2026-W10" in report.errors[0].reason_zh
    with store.unit_of_work(ADMIN) as uow:
        assert list(uow.duties.stream()) == [] and list(uow.problems.stream()) == []


def test_who_ran_a_revoked_business_is_banned_elsewhere_for_five_years(
    store: Store, roster: twores.Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("twores.services.duties.today", lambda: date(2029, 12, 31))
    load(store, roster, START)
    first, second = sorted(roster.businesses)[:2]
    person = StaffMember("陈明", id_number="11010519491231002X")
    with store.unit_of_work(ADMIN) as uow:
        revoked, other = uow.businesses.get(first), uow.businesses.get(second)
        assert revoked is not None and other is not None
        uow.businesses.upsert_many(
            [
                attrs.evolve(
                    revoked,
                    status=OperatingStatus.REVOKED,
                    status_since=date(2024, 2, 29),
                    staff=attrs.evolve(revoked.staff, head=person),
                ),
                attrs.evolve(other, staff=attrs.evolve(other.staff, officer=person)),
            ]
        )
        uow.commit()
    app = twores.build(load_entrypoints=False)

    def problems_on(day: date) -> list[str]:
        (mine,) = [b for b in duty_report(app, store, ADMIN, day, day) if b.business_key == second]
        return [p.code for p in mine.staff]

    # five years from 2024-02-29 end on 2029-02-28, the month's last day (民法典 第二百零二条)
    assert problems_on(date(2029, 2, 28)) == ["banned"]
    assert problems_on(date(2029, 3, 1)) == []


def test_a_record_dated_after_its_entry_is_refused(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    rows = [
        ["1", key, "日管控", "2026-03-31", "安全员", "黄丽", "是", ""],
        ["2", key, "日管控", "2026-04-02", "安全员", "黄丽", "是", ""],
    ]
    entered = datetime(2026, 3, 31, 20, tzinfo=CHINA_TZ)
    report = import_duties(APP, store, ADMIN, _write(tmp_path / "记录.csv", rows), now=entered)
    assert [(e.row, e.value, e.code) for e in report.errors] == [(3, "2026-04-02", "date_ahead")]
    assert report.written.changed == 0


def test_a_day_not_yet_over_owes_no_daily_record_yet(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    now = twores.today()
    load(store, roster, now - timedelta(days=40))
    key = sorted(roster.businesses)[0]
    yesterday = now - timedelta(days=1)
    rows = [["1", key, "日管控", yesterday.isoformat(), "安全员", "黄丽", "是", ""]]
    assert import_duties(APP, store, ADMIN, _write(tmp_path / "记录.csv", rows)).accepted
    today_only = duty_report(APP, store, ADMIN, now, now)
    mine = next(b for b in today_only if b.business_key == key)
    assert mine.compliance[0].due == 0  # at 10:00 today's 日管控 is not missing yet
    (mine,) = [b for b in duty_report(APP, store, ADMIN, yesterday, now) if b.business_key == key]
    assert (mine.compliance[0].due, mine.compliance[0].kept) == (1, 1)
    root = roster.hierarchy.roots[0].code
    day = compute_kpis(APP, store, ADMIN, str(now), names=["daily_routine"])  # 日调度 of today
    assert (
        root not in day.values["daily_routine"] or not day.value("daily_routine", root).denominator
    )
    week = twores.Period.containing(twores.PeriodKind.WEEK, now)
    counted = compute_kpis(APP, store, ADMIN, str(week), names=["daily_routine"])
    owed_days = (now - max(week.start, now - timedelta(days=40))).days
    value = counted.values["daily_routine"].get(root)
    assert (value.denominator if value else 0) == owed_days * sum(
        1 for b in roster.businesses.values() if b.in_scope_on(now)
    )


def test_routine_records_come_in_through_an_office_not_a_cadre(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    sheet = _write(tmp_path / "记录.csv", _march_records(key)[:1])
    cadre = twores.Scope("C1", twores.Role.CADRE, "450323", cadre_id="C1")
    with pytest.raises(twores.ScopeError, match="台账导入"):
        import_duties(APP, store, cadre, sheet)
    with store.unit_of_work(ADMIN) as uow:
        assert list(uow.duties.stream()) == []


def test_a_weekly_report_filed_again_within_its_week_keeps_its_problems(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]

    def report_on(day: str, *findings: str) -> None:
        row = ["1", key, "周排查", day, "食品安全员", "黄丽", "否", "；".join(findings)]
        sheet = _write(tmp_path / f"周排查{day}.csv", [row])
        assert import_duties(APP, store, ADMIN, sheet).accepted

    def problems() -> list[tuple[str, date]]:
        with store.unit_of_work(ADMIN) as uow:
            found = uow.problems.stream(business_key=key)
            return sorted((p.description, p.found_on) for p in found)

    report_on("2026-03-02", "冷库温度记录缺失")
    report_on("2026-03-04", "冷库温度记录缺失")  # the same week's report, re-dated
    report_on("2026-03-05", "冷库温度记录缺失")
    assert problems() == [("冷库温度记录缺失", date(2026, 3, 2))]
    report_on("2026-03-06", "冷库温度记录缺失", "留样不足")  # a finding added: its own day
    assert problems() == [("冷库温度记录缺失", date(2026, 3, 2)), ("留样不足", date(2026, 3, 6))]
    report_on("2026-03-06", "过期食品未下架", "留样不足", "冷库温度记录缺失")  # reordered
    report_on("2026-03-06", "留样不足", "过期食品未下架", "冷库温度记录缺失")
    assert problems() == sorted(
        [
            ("冷库温度记录缺失", date(2026, 3, 2)),
            ("过期食品未下架", date(2026, 3, 6)),
            ("留样不足", date(2026, 3, 6)),
        ]
    )


def test_records_may_name_a_licensed_business_by_its_credit_code(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    shop = next(b for _, b in sorted(roster.businesses.items()) if b.licence_no and b.uscc)
    assert shop.uscc is not None
    path = tmp_path / "按信用代码.csv"
    header = ["统一社会信用代码" if h == "许可证编号" else h for h in HEADER]
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        row = ["1", shop.uscc, "月调度", "2026-03-28", "主要负责人", "陈总", "是", ""]
        csv.writer(stream).writerows([header, row])
    report = import_duties(APP, store, ADMIN, path)
    assert report.accepted and report.written.inserted == 1, report.errors
    with store.unit_of_work(ADMIN) as uow:
        (record,) = uow.duties.stream(business_key=shop.key)
    assert record.key == f"{shop.key}/monthly/2026-03"


def test_a_weekly_report_saying_nothing_was_found_opens_no_problem(
    store: Store, roster: twores.Roster, tmp_path: Path
) -> None:
    load(store, roster, START)
    key = sorted(roster.businesses)[0]
    rows = [
        ["1", key, "周排查", "2026-03-02", "食品安全员", "黄丽", "是", "无"],
        ["2", key, "周排查", "2026-03-09", "食品安全员", "黄丽", "否", "未发现问题；留样不足"],
    ]
    report = import_duties(APP, store, ADMIN, _write(tmp_path / "周排查.csv", rows))
    assert report.accepted, report.errors
    with store.unit_of_work(ADMIN) as uow:
        found = [p.description for p in uow.problems.stream(business_key=key)]
    assert found == ["留样不足"]
