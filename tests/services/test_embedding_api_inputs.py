"""Service entry points called from Python take the spellings the CLI and the docs use
(``"rectifying"``, ``"一般"``, ``"2026-03-02"``) and refuse anything else with a bilingual
error naming the field, when called: before anything is read or written."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

import twores
from twores.core.assignment import plan_assignments
from twores.core.periods import CHINA_TZ
from twores.core.supervision import Answer
from twores.services.duties import duty_report
from twores.services.problems import list_problems
from twores.services.supervision import VisitInput, record_visit, schedule
from twores.services.synth import synthetic_roster

COUNTY = "450323"
OFFICE = twores.Scope("灵川县食安办", twores.Role.OFFICE, COUNTY)
DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 17, 30, tzinfo=CHINA_TZ)


@pytest.fixture
def held(app: twores.Twores, store: twores.Store) -> twores.Assignment:
    """A county of 30 businesses assigned on 2026-01-01; one assignment held on DAY."""
    hierarchy = twores.divisions.demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=30, cadres=10, seed=3, within=COUNTY)
    with store.unit_of_work(twores.Scope.system("test set-up")) as uow:
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), date(2026, 1, 1)))
        uow.commit()
    with store.unit_of_work(OFFICE) as uow:
        return next(uow.assignments.stream(active_on=DAY))


def _refused(error: twores.InvalidValueError, field: str) -> None:
    assert error.field == field
    assert field in error.message_zh and field in error.message_en
    assert error.message_zh != error.message_en


def _counts(store: twores.Store) -> tuple[int, int, int]:
    with store.unit_of_work(twores.Scope.system()) as uow:
        return (
            sum(1 for _ in uow.visits.stream()),
            sum(1 for _ in uow.problems.stream()),
            sum(1 for _ in uow.tasks.stream()),
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"findings": "未公示许可证"}, "findings"),
        ({"findings": ("未公示许可证", 3)}, "findings"),
        ({"findings": None}, "findings"),
        ({"evidence": "a" * 64}, "evidence"),
        ({"answers": (("M1",),)}, "answers"),
        ({"answers": (("M1", "符合", "多余"),)}, "answers"),
        ({"answers": "M1:符合"}, "answers"),
        ({"answers": (("M1", "也许"),)}, "answers"),
        ({"answers": ((1, "符合"),)}, "answers"),
        ({"visited_on": "2026-13-01"}, "visited_on"),
        ({"visited_on": "昨天"}, "visited_on"),
        ({"visited_on": datetime(2026, 3, 2, 9, tzinfo=CHINA_TZ)}, "visited_on"),
        ({"visited_on": 20260302}, "visited_on"),
        ({"mode": "飞鸽传书"}, "mode"),
        ({"severity": "天大"}, "severity"),
    ],
)
def test_a_malformed_visit_is_refused_naming_its_field(fields: dict[str, Any], field: str) -> None:
    given: dict[str, Any] = {"business_key": "JY14503230000001", "cadre_id": "C1"}
    given["visited_on"] = DAY
    with pytest.raises(twores.InvalidValueError) as refused:
        VisitInput(**(given | fields))
    _refused(refused.value, field)


def test_findings_as_one_string_open_no_problem_at_all(
    app: twores.Twores, store: twores.Store, held: twores.Assignment
) -> None:
    schedule(app, store, OFFICE, "2026Q1", on=date(2026, 1, 5))
    before = _counts(store)
    with pytest.raises(twores.InvalidValueError):
        record_visit(
            app,
            store,
            OFFICE,
            VisitInput(held.business_key, held.cadre_id, DAY, findings="未公示许可证"),  # type: ignore[arg-type]
            now=NOW,
        )
    assert _counts(store) == before  # nothing was recorded, no problem opened
    outcome = record_visit(
        app,
        store,
        OFFICE,
        VisitInput(held.business_key, held.cadre_id, "2026-03-02", findings=["未公示许可证"]),  # type: ignore[arg-type]
        now=NOW,
    )
    assert outcome.visit.visited_on == DAY and outcome.visit.findings == ("未公示许可证",)
    assert [p.description for p in outcome.opened] == ["未公示许可证"]


def test_a_visit_takes_its_documented_spellings() -> None:
    visit = VisitInput(
        "JY14503230000001",
        "C1",
        " 2026-03-02 ",  # type: ignore[arg-type]
        mode="video",
        answers=[["M1", "符合"], ("P1", Answer.NO)],  # type: ignore[list-item]
        findings=(f for f in ["进货查验记录不全"]),  # type: ignore[arg-type]
        severity="major",
    )
    assert visit.visited_on == DAY and visit.findings == ("进货查验记录不全",)
    assert visit.answers == (("M1", "符合"), ("P1", Answer.NO))


def test_schedule_takes_a_day_spelled_as_the_cli_spells_it(
    app: twores.Twores, store: twores.Store, held: twores.Assignment
) -> None:
    for bad, field in (("2026-02-30", "on"), (datetime(2026, 1, 5), "on"), (2026, "period")):
        period = bad if field == "period" else "2026Q1"
        on = DAY if field == "period" else bad
        with pytest.raises(twores.InvalidValueError) as refused:
            schedule(app, store, OFFICE, period, on=on)  # type: ignore[arg-type]
        _refused(refused.value, field)
    assert _counts(store) == (0, 0, 0)  # nothing was written
    spelled = schedule(app, store, OFFICE, "2026Q1", on="2026-01-05")
    assert spelled.tasks > 0 and spelled.written.inserted == spelled.tasks
    again = schedule(app, store, OFFICE, "2026Q1", on=date(2026, 1, 5))
    assert again.written.inserted == 0 and again.tasks == spelled.tasks  # the same day


def test_list_problems_takes_the_cli_spellings_and_refuses_others_when_called(
    app: twores.Twores, store: twores.Store, held: twores.Assignment
) -> None:
    schedule(app, store, OFFICE, "2026Q1", on=date(2026, 1, 5))
    record_visit(
        app,
        store,
        OFFICE,
        VisitInput(held.business_key, held.cadre_id, DAY, findings=("未公示许可证",)),
        now=NOW,
    )
    found = list(list_problems(store, OFFICE))
    assert len(found) == 1
    status, severity = found[0].status, found[0].severity
    for spelled in (status.value, status.zh, status.en.upper(), status):
        assert list(list_problems(store, OFFICE, status=spelled)) == found
    for spelled in (severity.value, severity.zh, severity):
        assert list(list_problems(store, OFFICE, severity=spelled)) == found
    assert list(list_problems(store, OFFICE, status="closed", severity="严重")) == []
    assert list(list_problems(store, OFFICE, overdue_on="2026-03-03")) == []
    assert found[0].overdue_on(date(2026, 6, 30))
    assert list(list_problems(store, OFFICE, overdue_on="2026-06-30")) == found
    for kwargs, field in (
        ({"status": "nope"}, "problem_status"),
        ({"status": 3}, "problem_status"),
        ({"severity": "一般般"}, "severity"),
        ({"overdue_on": "2026/3/3x"}, "overdue_on"),
    ):
        with pytest.raises(twores.InvalidValueError) as refused:
            list_problems(store, OFFICE, **kwargs)  # refused when called, not when read
        _refused(refused.value, field)


def test_a_duty_report_over_a_reversed_span_is_refused(
    app: twores.Twores, store: twores.Store, held: twores.Assignment
) -> None:
    with pytest.raises(twores.InvalidValueError) as refused:
        duty_report(app, store, OFFICE, date(2026, 3, 31), date(2026, 3, 1))
    _refused(refused.value, "end")
    assert "2026-03-31" in refused.value.message_zh and "2026-03-31" in refused.value.message_en
    one_day = duty_report(app, store, OFFICE, "2026-03-01", "2026-03-01")
    assert len(one_day) == 30
    with pytest.raises(twores.InvalidValueError) as refused:
        duty_report(app, store, OFFICE, "2026-03-01", "三月底")
    _refused(refused.value, "end")


def test_a_signing_takes_the_day_as_the_cli_writes_it_and_refuses_anything_else() -> None:
    from twores.services.commitments import Signing

    assert Signing("C1", 2026, "2026-02-01", "镇党委书记").signed_on == date(2026, 2, 1)
    with pytest.raises(twores.TworesError) as refused:
        Signing("C1", 2026, "昨天", "镇党委书记")
    assert "signed_on" in str(refused.value)
