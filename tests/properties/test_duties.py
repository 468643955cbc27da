"""Enterprise routines (日管控、周排查、月调度) and the three-persons setup (三人三责)."""

from __future__ import annotations

from datetime import date, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twores.core.businesses import (
    BusinessType,
    FoodBusiness,
    OperatingStatus,
    Scale,
    Staff,
    StaffMember,
)
from twores.core.duties import (
    FILERS,
    Compliance,
    DutyKind,
    DutyRecord,
    StaffRole,
    bans_from_revocations,
    duty_compliance,
    staff_problems,
)
from twores.core.errors import InvalidValueError
from twores.core.periods import Period, PeriodKind
from twores.plugins.manager import TworesPluginManager
from twores.testing import strategies as tst

KEY = "JY14503238525270"
kinds = st.sampled_from(list(DutyKind))
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))
in_scope = st.sampled_from([OperatingStatus.OPERATING, OperatingStatus.SUSPENDED])


@st.composite
def spans(draw: st.DrawFn, *, max_days: int = 120) -> tuple[date, date]:
    start = draw(days)
    return start, start + timedelta(days=draw(st.integers(0, max_days)))


def periods_in(kind: DutyKind, start: date, end: date) -> list[Period]:
    """The periods that end within the span (one still running at its end is not due)."""
    found, period = [], Period.containing(kind.period_kind, start)
    while period.end <= end:
        found.append(period)
        period = period.next()
    return found


def record(kind: DutyKind, on: date, *, key: str = KEY, **changes: object) -> DutyRecord:
    fields: dict[str, object] = {
        "business_key": key,
        "area_code": "450323100200",
        "kind": kind,
        "on": on,
        "by_role": FILERS[kind][0],
        "by_name": "王芳",
    }
    fields.update(changes)
    return DutyRecord(**fields)  # type: ignore[arg-type]


@st.composite
def full_records(draw: st.DrawFn, kind: DutyKind, start: date, end: date) -> list[DutyRecord]:
    """One record per period, on any day inside it (possibly outside the span)."""
    return [
        record(kind, p.start + timedelta(days=draw(st.integers(0, p.days - 1))))
        for p in periods_in(kind, start, end)
    ]


# --- compliance -------------------------------------------------------------------------


@given(kinds, spans(), st.data())
def test_a_full_set_of_records_is_fully_compliant(
    kind: DutyKind, span: tuple[date, date], data: st.DataObject
) -> None:
    records = data.draw(full_records(kind, *span))
    result = duty_compliance(records, kind, *span)
    assert result.rate == (1.0 if records else None) and result.missing == ()
    assert result.due == result.kept == len(records)


@given(kinds, spans(), st.data())
def test_removing_k_periods_leaves_exactly_those_missing(
    kind: DutyKind, span: tuple[date, date], data: st.DataObject
) -> None:
    records = data.draw(full_records(kind, *span))
    removed = data.draw(st.sets(st.sampled_from(records))) if records else set()
    kept = [r for r in records if r not in removed]
    result = duty_compliance(kept, kind, *span)
    assert result.missing == tuple(sorted(r.period for r in removed))
    assert result.due - result.kept == len(removed)


@given(spans(), st.frozensets(st.integers(0, 6), max_size=7), st.data())
def test_daily_due_skips_days_the_business_is_closed(
    span: tuple[date, date], closed_weekdays: frozenset[int], data: st.DataObject
) -> None:
    def operating(day: date) -> bool:
        return day.weekday() not in closed_weekdays

    start, end = span
    records = data.draw(full_records(DutyKind.DAILY, start, end))
    result = duty_compliance(records, DutyKind.DAILY, start, end, owes=lambda p: operating(p.start))
    open_days = [p.start for p in periods_in(DutyKind.DAILY, start, end) if operating(p.start)]
    assert result.due == result.kept == len(open_days)
    partial = duty_compliance([], DutyKind.DAILY, start, end, owes=lambda p: operating(p.start))
    assert all(operating(p.start) for p in partial.missing)
    assert len(partial.missing) == len(open_days)


@given(spans())
def test_rate_is_none_when_nothing_is_due(span: tuple[date, date]) -> None:
    records = [record(DutyKind.DAILY, span[0])]
    result = duty_compliance(records, DutyKind.DAILY, *span, owes=lambda period: False)
    assert (result.due, result.kept, result.missing, result.rate) == (0, 0, (), None)
    assert Compliance(DutyKind.WEEKLY, 0, 0, ()).rate is None


@given(kinds, spans(max_days=800))
def test_weekly_counts_iso_weeks_and_monthly_calendar_months(
    kind: DutyKind, span: tuple[date, date]
) -> None:
    start, end = span
    every_day = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    expected = {  # each period is due on its last day
        DutyKind.DAILY: len(every_day),
        DutyKind.WEEKLY: sum(1 for d in every_day if d.isoweekday() == 7),
        DutyKind.MONTHLY: sum(1 for d in every_day if (d + timedelta(days=1)).day == 1),
    }[kind]
    assert duty_compliance([], kind, start, end).due == expected


def test_a_week_across_two_quarters_is_owed_once_in_the_later_and_not_while_it_runs() -> None:
    week14 = record(DutyKind.WEEKLY, date(2026, 4, 3))  # 2026-W14: 03-30 .. 04-05
    q1 = duty_compliance([week14], DutyKind.WEEKLY, date(2026, 1, 1), date(2026, 3, 31))
    q2 = duty_compliance([week14], DutyKind.WEEKLY, date(2026, 4, 1), date(2026, 6, 30))
    assert (q1.due, q1.kept) == (13, 0) and Period.parse("2026-W14") not in q1.missing
    assert q2.due == 13 and q2.kept == 1
    early = duty_compliance([], DutyKind.MONTHLY, date(2026, 1, 1), date(2026, 1, 6))
    assert early.due == 0 and early.rate is None  # January still runs


def test_a_business_owes_routines_from_its_opening_and_until_it_stopped() -> None:
    from twores.core.duties import owes_period

    opened = FoodBusiness(
        "新开小吃店",
        "450323100200",
        BusinessType.CATERING,
        licence_no=KEY,
        opened_on=date(2026, 3, 20),
    )
    q1 = (date(2026, 1, 1), date(2026, 3, 31))
    owed = {
        kind: duty_compliance([], kind, *q1, owes=lambda p: owes_period(opened, p)).due
        for kind in DutyKind
    }
    assert owed == {DutyKind.DAILY: 12, DutyKind.WEEKLY: 2, DutyKind.MONTHLY: 1}
    stopped = attrs.evolve(
        opened, opened_on=None, status=OperatingStatus.SUSPENDED, status_since=date(2026, 2, 11)
    )
    owed = {
        kind: duty_compliance([], kind, *q1, owes=lambda p: owes_period(stopped, p)).due
        for kind in DutyKind
    }
    assert owed == {DutyKind.DAILY: 41, DutyKind.WEEKLY: 7, DutyKind.MONTHLY: 2}


@given(days)
def test_a_weekly_record_is_for_its_iso_week(day: date) -> None:
    year, week, _ = day.isocalendar()
    assert str(record(DutyKind.WEEKLY, day).period) == f"{year}-W{week:02d}"


def test_iso_week_53_spans_the_year_end() -> None:
    old, new = (
        record(DutyKind.WEEKLY, date(2026, 12, 31)),
        record(DutyKind.WEEKLY, date(2027, 1, 1)),
    )
    assert old.period == new.period and str(new.period) == "2026-W53"
    assert old.key == new.key == f"{KEY}/weekly/2026-W53"
    result = duty_compliance([new], DutyKind.WEEKLY, date(2026, 12, 28), date(2027, 1, 3))
    assert (result.due, result.kept) == (1, 1)


@given(
    st.sampled_from([KEY, "JY24503238525271"]),
    st.sampled_from([KEY, "JY24503238525271"]),
    kinds,
    kinds,
    st.dates(min_value=date(2026, 12, 20), max_value=date(2027, 1, 10)),
    st.dates(min_value=date(2026, 12, 20), max_value=date(2027, 1, 10)),
)
def test_the_key_identifies_business_kind_and_period(
    key1: str, key2: str, kind1: DutyKind, kind2: DutyKind, day1: date, day2: date
) -> None:
    first, second = record(kind1, day1, key=key1), record(kind2, day2, key=key2)
    same = (key1, kind1, first.period) == (key2, kind2, second.period)
    assert (first.key == second.key) is same


def test_a_later_record_for_the_same_period_replaces_the_first() -> None:
    first = record(DutyKind.MONTHLY, date(2026, 3, 2), findings=("冷库温度超标",))
    second = record(DutyKind.MONTHLY, date(2026, 3, 30), zero_risk=True)
    latest = {r.key: r for r in (first, second)}
    assert list(latest.values()) == [second]


def test_only_records_of_the_kind_count() -> None:
    daily = record(DutyKind.DAILY, date(2026, 3, 2))
    result = duty_compliance([daily], DutyKind.WEEKLY, date(2026, 3, 2), date(2026, 3, 8))
    assert result.kept == 0 and result.missing == (Period.parse("2026-W10"),)


def test_records_of_several_businesses_are_refused() -> None:
    records = [record(DutyKind.DAILY, date(2026, 3, 2)), record(DutyKind.DAILY, date(2026, 3, 3))]
    records.append(attrs.evolve(records[1], business_key="JY24503238525271"))
    with pytest.raises(InvalidValueError) as caught:
        duty_compliance(records, DutyKind.DAILY, date(2026, 3, 2), date(2026, 3, 3))
    assert caught.value.field == "business_key"


def test_a_span_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        duty_compliance([], DutyKind.DAILY, date(2026, 3, 2), date(2026, 3, 1))


# --- records ----------------------------------------------------------------------------


def test_labels_and_period_kinds() -> None:
    assert DutyKind.parse("日管控") is DutyKind.DAILY
    assert DutyKind.parse("每日检查") is DutyKind.DAILY
    assert DutyKind.parse("月调度会议") is DutyKind.MONTHLY
    assert StaffRole.parse("食品安全总监") is StaffRole.DIRECTOR
    assert [k.period_kind for k in DutyKind] == [PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH]


@pytest.mark.parametrize("kind", list(DutyKind))
@pytest.mark.parametrize("role", list(StaffRole))
def test_who_may_file_what(kind: DutyKind, role: StaffRole) -> None:
    allowed = {
        DutyKind.DAILY: {StaffRole.OFFICER, StaffRole.DIRECTOR, StaffRole.HEAD},
        DutyKind.WEEKLY: {StaffRole.DIRECTOR, StaffRole.OFFICER},
        DutyKind.MONTHLY: {StaffRole.HEAD, StaffRole.DIRECTOR},
    }[kind]
    if role in allowed:
        assert record(kind, date(2026, 3, 2), by_role=role).by_role is role
    else:
        with pytest.raises(InvalidValueError):
            record(kind, date(2026, 3, 2), by_role=role)


def test_the_head_cannot_file_the_weekly_check() -> None:
    with pytest.raises(InvalidValueError) as caught:
        record(DutyKind.WEEKLY, date(2026, 3, 2), by_role=StaffRole.HEAD)
    error = caught.value
    assert error.field == "by_role" and error.value == "head"
    assert "by_role" in error.message_zh and "“head”" in error.message_zh
    assert "周排查" in error.message_zh and "主要负责人" in error.message_zh
    assert "食品安全总监或食品安全员" in error.message_zh
    assert "by_role" in error.message_en and "'head'" in error.message_en
    assert "weekly check" in error.message_en and "food safety officer" in error.message_en


def test_the_officer_cannot_file_the_monthly_review() -> None:
    with pytest.raises(InvalidValueError) as caught:
        record(DutyKind.MONTHLY, date(2026, 3, 2), by_role=StaffRole.OFFICER)
    error = caught.value
    assert error.field == "by_role" and error.value == "officer"
    assert "“officer”" in error.message_zh and "月调度" in error.message_zh
    assert "食品安全员" in error.message_zh and "主要负责人或食品安全总监" in error.message_zh
    assert "'officer'" in error.message_en and "monthly review" in error.message_en


def test_a_zero_risk_report_has_no_findings() -> None:
    assert record(DutyKind.DAILY, date(2026, 3, 2), zero_risk=True).findings == ()
    with pytest.raises(InvalidValueError) as caught:
        record(DutyKind.DAILY, date(2026, 3, 2), zero_risk=True, findings=("餐具未消毒",))
    assert caught.value.field == "findings" and "零风险" in caught.value.message_zh


# --- staff ------------------------------------------------------------------------------


def clean(name: str = "李明") -> StaffMember:
    return StaffMember(name)


def staffed(business: FoodBusiness, **roles: StaffMember | None) -> FoodBusiness:
    fields: dict[str, StaffMember | None] = {"head": clean("张伟"), "director": clean()}
    fields["officer"] = clean("陈静")
    fields.update(roles)
    return attrs.evolve(business, opened_on=None, staff=Staff(**fields))


def codes(business: FoodBusiness, on: date, required: bool) -> list[tuple[StaffRole, str]]:
    return [(p.role, p.code) for p in staff_problems(business, on, required)]


@given(tst.businesses(statuses=in_scope), days, st.integers(0, 5 * 365), st.integers(1, 3000))
def test_a_banned_director_is_flagged_within_the_ban_and_not_after(
    business: FoodBusiness, until: date, before: int, after: int
) -> None:
    business = staffed(business, director=StaffMember("赵强", banned_until=until))
    within = codes(business, until - timedelta(days=before), True)
    assert within == [(StaffRole.DIRECTOR, "banned")]
    assert codes(business, until + timedelta(days=after), True) == []


@given(tst.businesses(statuses=in_scope), days, st.integers(0, 5 * 365))
def test_a_banned_officer_is_flagged(business: FoodBusiness, until: date, before: int) -> None:
    business = staffed(business, officer=StaffMember("赵强", banned_until=until))
    (problem,) = staff_problems(business, until - timedelta(days=before), False)
    assert (problem.role, problem.code) == (StaffRole.OFFICER, "banned")
    assert "赵强" in problem.zh and until.isoformat() in problem.en


@given(tst.businesses(statuses=in_scope), days, st.booleans())
def test_a_missing_officer_is_always_flagged(
    business: FoodBusiness, on: date, required: bool
) -> None:
    assert codes(staffed(business, officer=None), on, required) == [
        (StaffRole.OFFICER, "missing_officer")
    ]


@given(tst.businesses(statuses=in_scope), days, st.booleans())
def test_a_missing_director_is_flagged_only_when_required(
    business: FoodBusiness, on: date, required: bool
) -> None:
    found = codes(staffed(business, director=None), on, required)
    assert found == ([(StaffRole.DIRECTOR, "missing_director")] if required else [])


@given(
    tst.businesses(statuses=st.sampled_from([OperatingStatus.CLOSED, OperatingStatus.REVOKED])),
    days,
    st.booleans(),
)
def test_closed_businesses_have_no_staff_problems(
    business: FoodBusiness, on: date, required: bool
) -> None:
    closed = attrs.evolve(business, status_since=None)  # closed on every day
    assert staff_problems(closed, on, required) == []


def test_the_director_rule_comes_from_the_plugins(pm: TworesPluginManager) -> None:
    on = date(2025, 6, 30)
    business = FoodBusiness(
        name="灵川同化饭店",
        area_code="450323100200",
        business_type=BusinessType.CATERING,
        licence_no=KEY,
        scale=Scale.LARGE,
    )
    problems = staff_problems(business, on, pm.requires_director(business, on).value)
    assert [p.code for p in problems] == ["missing_director", "missing_officer"]
    assert problems[0].zh == "须配备食品安全总监但未配备"
    assert problems[1].message("en") == "a food safety officer is required but none is appointed"


@pytest.mark.parametrize(
    ("revoked", "last_banned"),
    [
        (date(2024, 3, 1), date(2029, 3, 1)),
        (date(2024, 2, 28), date(2029, 2, 28)),
        (date(2024, 2, 29), date(2029, 2, 28)),  # no 29th: the month's last day
        (date(2023, 12, 31), date(2028, 12, 31)),
    ],
)
def test_a_revocation_bans_its_people_through_the_same_day_five_years_on(
    revoked: date, last_banned: date
) -> None:
    """民法典 第二百零一、二百零二条: the decision's day is not counted; the period ends on
    the corresponding day (the month's last day when there is none)."""
    person = StaffMember("陈明", id_number="11010519491231002X")
    business = FoodBusiness(
        name="吊销店",
        area_code="450323101202",
        business_type=BusinessType.CATERING,
        licence_no=KEY,
        status=OperatingStatus.REVOKED,
        status_since=revoked,
        staff=Staff(director=person),
    )
    assert bans_from_revocations([business]) == {"11010519491231002X": (revoked, last_banned)}
