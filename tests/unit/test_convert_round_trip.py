"""``make_converter()`` round-trips every public domain record, through JSON too.

``c.structure(c.unstructure(record), type(record)) == record`` (README, Conversion), for
records holding moments (``Visit.recorded_at``, ``ProblemEvent.at``), derived fields
(``SupervisionTask.key``) and validators that read other fields
(``SupervisionTask.visit_id``).
"""

from __future__ import annotations

import json
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import twores
from twores import (
    Action,
    Area,
    Assignment,
    BusinessCloses,
    BusinessMoves,
    BusinessOpens,
    BusinessRegraded,
    BusinessType,
    Cadre,
    CadreJoins,
    CadreLeaves,
    CadreMoves,
    Checklist,
    Decision,
    DutyKind,
    DutyRecord,
    FoodBusiness,
    Frequency,
    Grade,
    ImportRecord,
    Letter,
    Period,
    Problem,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
    Role,
    Rule,
    RuleSet,
    Ruling,
    Scope,
    Severity,
    Staff,
    StaffMember,
    StructureError,
    SupervisionTask,
    Tier,
    UpsertResult,
    Violation,
    Visit,
    VisitMode,
    make_converter,
)
from twores.core.duties import FILERS
from twores.core.periods import CHINA_TZ
from twores.core.supervision import NATIONAL_CHECKLIST, Answer, ChecklistItem, visit_key
from twores.testing import strategies as tst

CONVERTER = make_converter()

_DAY_MIN, _DAY_MAX = date(2015, 1, 1), date(2030, 12, 31)
_IDS = st.from_regex(r"[a-z][a-z0-9]{3,11}", fullmatch=True)
_TEXT = st.text(alphabet="东南西北中新安平和兴华山水河湖林abc xyz", min_size=1, max_size=8)
_DIGESTS = st.binary(min_size=32, max_size=32).map(bytes.hex)
_BUSINESS_KEYS = tst.licence_numbers(business_type=BusinessType.CATERING)
_AREA_CODES = st.sampled_from(["450323101202", "450323106213", "450323", "450321100"])
_DATES = st.dates(min_value=_DAY_MIN, max_value=_DAY_MAX)
#: Aware moments in China time, UTC and an offset with minutes.
_MOMENTS = st.datetimes(
    min_value=datetime(2015, 1, 2),
    max_value=datetime(2030, 12, 30),
    timezones=st.sampled_from([CHINA_TZ, UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)


@st.composite
def visits(draw: st.DrawFn) -> Visit:
    recorded_at = draw(_MOMENTS)
    late_days = draw(st.integers(0, 60))
    codes = [item.code for item in NATIONAL_CHECKLIST.items]
    answered = draw(st.lists(st.sampled_from(codes), unique=True, max_size=4))
    return Visit(
        business_key=draw(_BUSINESS_KEYS),
        cadre_id=draw(_IDS),
        area_code=draw(_AREA_CODES),
        visited_on=recorded_at.astimezone(CHINA_TZ).date() - timedelta(days=late_days),
        recorded_at=recorded_at,
        mode=draw(st.sampled_from(VisitMode)),
        answers=tuple((code, draw(st.sampled_from(Answer))) for code in answered),
        evidence=tuple(draw(st.lists(_DIGESTS, max_size=2))),
        findings=tuple(draw(st.lists(_TEXT.filter(str.strip), max_size=2))),
        late_reason=draw(st.none() | _TEXT),
    )


@st.composite
def supervision_tasks(draw: st.DrawFn) -> SupervisionTask:
    business_key = draw(_BUSINESS_KEYS)
    period = draw(tst.periods())
    done = draw(st.booleans())
    cadre = draw(_IDS)
    day = draw(st.dates(min_value=period.start, max_value=period.end))
    return SupervisionTask(
        business_key=business_key,
        area_code=draw(_AREA_CODES),
        period=period,
        seq=draw(st.integers(1, 4)),
        due_on=period.end,
        cadre_id=draw(st.none() | _IDS),
        exempt_reason=draw(st.none() | _TEXT),
        visit_id=visit_key(business_key, day, cadre) if done else None,
        credited_to=cadre if done else None,
    )


@st.composite
def problem_events(draw: st.DrawFn, problem_id: str, seq: int) -> ProblemEvent:
    return ProblemEvent(
        problem_id=problem_id,
        seq=seq,
        action=draw(st.sampled_from(Action)),
        status=draw(st.sampled_from(ProblemStatus)),
        actor=draw(_IDS),
        at=draw(_MOMENTS),
        note=draw(st.just("") | _TEXT),
        evidence=tuple(draw(st.lists(_DIGESTS | _TEXT, max_size=2))),
        deadline=draw(st.none() | _DATES),
    )


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    problem_id = draw(_IDS)
    history = tuple(
        draw(problem_events(problem_id, seq)) for seq in range(1, draw(st.integers(0, 4)) + 1)
    )
    return Problem(
        id=problem_id,
        business_key=draw(_BUSINESS_KEYS),
        area_code=draw(_AREA_CODES),
        source=draw(st.sampled_from(ProblemSource)),
        description=draw(_TEXT),
        severity=draw(st.sampled_from(Severity)),
        found_on=draw(_DATES),
        reporter=draw(_IDS),
        source_ref=draw(st.none() | _TEXT),
        status=history[-1].status if history else ProblemStatus.FOUND,
        deadline=draw(st.none() | _DATES),
        reminders=draw(st.integers(0, 3)),
        escalation=draw(st.integers(0, 3)),
        verified_by=draw(st.none() | _IDS),
        history=history,
    )


@st.composite
def letters(draw: st.DrawFn) -> Letter:
    generated = draw(_DATES)
    signed = draw(st.none() | st.dates(min_value=generated, max_value=_DAY_MAX))
    return Letter(
        cadre_id=draw(_IDS),
        area_code=draw(_AREA_CODES),
        year=generated.year,
        list_hash=draw(_DIGESTS),
        businesses=draw(st.integers(0, 200)),
        generated_on=generated,
        signed_on=signed,
        counterparty=draw(st.none() | _TEXT) if signed else None,
        scan_sha256=draw(st.none() | _DIGESTS) if signed else None,
    )


@st.composite
def duty_records(draw: st.DrawFn) -> DutyRecord:
    kind = draw(st.sampled_from(DutyKind))
    zero_risk = draw(st.booleans())
    return DutyRecord(
        business_key=draw(_BUSINESS_KEYS),
        area_code=draw(_AREA_CODES),
        kind=kind,
        on=draw(_DATES),
        by_role=draw(st.sampled_from(FILERS[kind])),
        by_name=draw(_TEXT),
        zero_risk=zero_risk,
        findings=() if zero_risk else tuple(draw(st.lists(_TEXT, max_size=2))),
    )


def checklists() -> st.SearchStrategy[Checklist]:
    items = st.builds(ChecklistItem, _IDS, _TEXT, _TEXT, _TEXT)
    drawn = st.builds(
        Checklist, _IDS, st.from_regex(r"20[0-9]{2}\.[0-9]", fullmatch=True), st.tuples(items)
    )
    return st.just(NATIONAL_CHECKLIST) | drawn


#: A strategy for every public attrs record, by the type it structures as.
RECORDS: dict[Any, st.SearchStrategy[Any]] = {
    Area: tst.areas(),
    FoodBusiness: tst.businesses(),
    Staff: st.builds(
        Staff,
        head=st.none() | tst.staff_members(),
        director=st.none() | tst.staff_members(),
        officer=st.none() | tst.staff_members(),
    ),
    StaffMember: tst.staff_members(),
    Cadre: tst.cadres(),
    Assignment: tst.assignments(),
    Period: tst.periods(),
    Frequency: tst.frequencies(),
    Rule: tst.rules(),
    RuleSet: tst.rule_sets(),
    SupervisionTask: supervision_tasks(),
    Visit: visits(),
    ProblemEvent: st.tuples(_IDS, st.integers(1, 9)).flatmap(lambda a: problem_events(*a)),
    Problem: problems(),
    Letter: letters(),
    DutyRecord: duty_records(),
    Checklist: checklists(),
    Violation: st.builds(Violation, _IDS, st.lists(_IDS).map(tuple), _TEXT, _TEXT),
    ImportRecord: st.builds(
        ImportRecord,
        _DIGESTS,
        st.sampled_from(["businesses", "cadres", "visits"]),
        _TEXT,
        _IDS,
        _MOMENTS.map(datetime.isoformat),
        st.integers(0, 10**5),
        st.integers(0, 10**5),
        st.integers(0, 10**5),
    ),
    UpsertResult: st.builds(
        UpsertResult, st.integers(0, 10**5), st.integers(0, 10**5), st.integers(0, 10**5)
    ),
    Scope: st.builds(Scope, _IDS, st.sampled_from(Role), st.none() | _AREA_CODES, st.none() | _IDS),
    CadreLeaves: st.builds(CadreLeaves, _IDS, _DATES),
    CadreMoves: st.builds(CadreMoves, _IDS, _AREA_CODES),
    CadreJoins: st.builds(CadreJoins, tst.cadres()),
    BusinessOpens: st.builds(BusinessOpens, tst.businesses()),
    BusinessCloses: st.builds(BusinessCloses, _BUSINESS_KEYS, _DATES),
    BusinessRegraded: st.builds(BusinessRegraded, _BUSINESS_KEYS, st.sampled_from(Grade)),
    BusinessMoves: st.builds(BusinessMoves, _BUSINESS_KEYS, _AREA_CODES),
    Ruling[Tier]: st.builds(Ruling, st.sampled_from(Tier), tst.rules(), _TEXT, _TEXT),
    Decision[Grade]: st.builds(
        Decision,
        _TEXT,
        _TEXT,
        _BUSINESS_KEYS,
        st.sampled_from(Grade),
        tst.rules(),
        _IDS,
        st.none() | _DATES,
        abstained=st.lists(_IDS, max_size=2).map(tuple),
    ),
    Decision[Frequency]: st.builds(
        Decision, _TEXT, _TEXT, _AREA_CODES, tst.frequencies(), tst.rules(), _IDS
    ),
}


def _name(kind: Any) -> str:
    args = typing.get_args(kind)
    if not args:
        return str(kind.__name__)
    return f"{typing.get_origin(kind).__name__}[{', '.join(map(_name, args))}]"


@pytest.mark.parametrize("kind", list(RECORDS), ids=_name)
@given(data=st.data())
def test_every_record_round_trips_through_json(kind: Any, data: st.DataObject) -> None:
    record = data.draw(RECORDS[kind])
    plain = json.loads(json.dumps(CONVERTER.unstructure(record), ensure_ascii=False))
    again = CONVERTER.structure(plain, kind)
    assert again == record
    assert type(again) is type(record)


def test_every_exported_record_has_a_round_trip_strategy() -> None:
    """Every public attrs record but the aggregates (a roster, a plan, the app) is covered."""
    covered = {typing.get_origin(kind) or kind for kind in RECORDS}
    exported = {
        value
        for name in twores.__all__
        if isinstance(value := getattr(twores, name), type) and attrs.has(value)
    }
    assert exported - covered == {twores.Roster, twores.Plan, twores.Twores}


VISIT = Visit(
    business_key="JY14503230004245",
    cadre_id="c1",
    area_code="450323106213",
    visited_on=date(2026, 3, 2),
    recorded_at=datetime(2026, 3, 2, 17, 30, 5, 250, tzinfo=CHINA_TZ),
)
TASK = SupervisionTask(
    business_key="JY14503230004245",
    area_code="450323106213",
    period=Period.parse("2026Q1"),
    seq=1,
    due_on=date(2026, 3, 31),
    visit_id=VISIT.key,
    credited_to="c1",
)


def test_a_moment_keeps_its_time_and_offset() -> None:
    plain = CONVERTER.unstructure(VISIT)
    assert plain["recorded_at"] == "2026-03-02T17:30:05.000250+08:00"
    again = CONVERTER.structure(plain, Visit)
    assert again == VISIT and again.recorded_at.utcoffset() == timedelta(hours=8)
    event = ProblemEvent("p1", 1, Action.ORDER, ProblemStatus.RECTIFYING, "c1", VISIT.recorded_at)
    assert CONVERTER.structure(CONVERTER.unstructure(event), ProblemEvent).at == event.at


def test_a_moment_given_in_utc_is_the_same_moment() -> None:
    plain = {**CONVERTER.unstructure(VISIT), "recorded_at": "2026-03-02T09:30:05.000250Z"}
    assert CONVERTER.structure(plain, Visit) == VISIT


@pytest.mark.parametrize(
    ("given_at", "reason"),
    [
        ("2026-03-02T17:30:00", "must carry a time zone"),
        ("2026-03-02", "must carry a time zone"),
        ("17:30", "expected an ISO 8601 date and time"),
        (1772443800, "expected an ISO 8601 date and time"),
    ],
)
def test_a_moment_without_an_offset_is_refused_by_name(given_at: object, reason: str) -> None:
    plain = {**CONVERTER.unstructure(VISIT), "recorded_at": given_at}
    with pytest.raises(StructureError) as info:
        CONVERTER.structure(plain, Visit)
    assert info.value.fields == ("recorded_at",)
    assert reason in info.value.message_en and "recorded_at" in info.value.message_en
    assert info.value.message_zh


def test_a_date_field_still_refuses_a_moment() -> None:
    plain = {**CONVERTER.unstructure(VISIT), "visited_on": "2026-03-02T17:30:00+08:00"}
    with pytest.raises(StructureError) as info:
        CONVERTER.structure(plain, Visit)
    assert info.value.fields == ("visited_on",)


def test_a_task_is_structured_without_its_derived_key() -> None:
    plain = CONVERTER.unstructure(TASK)
    assert "key" not in plain
    assert CONVERTER.structure(plain, SupervisionTask) == TASK
    assert CONVERTER.structure({**plain, "key": TASK.key}, SupervisionTask) == TASK


def test_a_task_key_that_disagrees_is_refused() -> None:
    plain = {**CONVERTER.unstructure(TASK), "key": "JY14503230004245/2026Q1/2"}
    with pytest.raises(StructureError) as info:
        CONVERTER.structure(plain, SupervisionTask)
    assert info.value.fields == ("key",)


def test_a_validator_that_reads_the_record_reports_its_field() -> None:
    plain = {**CONVERTER.unstructure(TASK), "visit_id": "JY00000000000000/2026-03-02/c1"}
    with pytest.raises(StructureError) as info:
        CONVERTER.structure(plain, SupervisionTask)
    assert info.value.fields == ("visit_id",)
    assert "must be a visit of this business" in info.value.message_en


def test_every_bad_task_field_is_still_listed() -> None:
    plain = {
        **CONVERTER.unstructure(TASK),
        "business_key": ["not", "text"],
        "seq": "first",
        "colour": "red",
    }
    with pytest.raises(StructureError) as info:
        CONVERTER.structure(plain, SupervisionTask)
    assert info.value.fields == ("business_key", "seq", "colour")
