"""KPIs from the store: as-of counts, memory and SQLite agree, rankings stored and compared."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import attrs
import docx
import pytest

import twores
from twores.core.kpis import Direction, KpiValue, RunKind, rank_areas
from twores.core.periods import CHINA_TZ
from twores.core.problems import Action
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.kpis import compute_kpis, issue_bulletin, rank_children, shown_areas
from twores.services.problems import NewProblem, open_problems, transition_problem
from twores.services.supervision import VisitInput, record_visits, schedule

from .helpers import ADMIN, COUNTY, START, load

END = date(2026, 3, 31)


def _scenario(app: twores.Twores, store: twores.Store, roster: twores.Roster) -> None:
    load(store, roster, START)
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        held = list(uow.assignments.stream(active_on=START))
    visits = [
        VisitInput(a.business_key, a.cadre_id, date(2026, 2, 1 + i % 20))
        for i, a in enumerate(held)
        if i % 3
    ]
    record_visits(app, store, ADMIN, visits, now=datetime(2026, 3, 1, 9, tzinfo=CHINA_TZ))
    open_problems(
        app,
        store,
        ADMIN,
        [NewProblem(held[0].business_key, "过期食品", "甲", date(2026, 3, 1))],
        at=datetime(2026, 3, 1, 9, tzinfo=CHINA_TZ),
    )


def test_memory_and_sqlite_compute_the_same_kpis(
    app: twores.Twores, roster: twores.Roster, tmp_path: Path
) -> None:
    tables = []
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'k.db'}")):
        _scenario(app, store, roster)
        tables.append(compute_kpis(app, store, ADMIN, "2026Q1", as_of=END).values)
    assert tables[0] == tables[1]
    county = tables[0]["task_completion"][COUNTY]
    assert county.denominator == len(roster.businesses)
    assert county.numerator == sum(1 for i in range(len(roster.businesses)) if i % 3)
    assert tables[0]["overdue_problems"][COUNTY].numerator == 1  # deadline 03-16 passed
    assert tables[0]["rectification"][COUNTY].rate == 0.0
    assert tables[0]["coverage"][COUNTY].rate == 1.0


def test_a_period_not_yet_begun_is_refused_on_every_backend(
    app: twores.Twores, roster: twores.Roster, tmp_path: Path
) -> None:
    """Asked before the period starts (next quarter, as of today), nothing is counted: its
    tasks would show as 0 done of N (the CLI's table said so), its routines as owing none."""
    for store in (MemoryStore(), SqlStore(f"sqlite:///{tmp_path / 'f.db'}")):
        _scenario(app, store, roster)
        with pytest.raises(twores.InvalidValueError, match="has not begun") as refused:
            compute_kpis(app, store, ADMIN, "2026Q2", as_of=END)
        assert refused.value.field == "period"
        assert compute_kpis(app, store, ADMIN, "2026Q2", as_of=date(2026, 4, 1)).values


def test_rankings_are_stored_reproduced_and_compared(
    app: twores.Twores, store: twores.Store, roster: twores.Roster, tmp_path: Path
) -> None:
    _scenario(app, store, roster)
    first, previous = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=date(2026, 2, 10))
    assert previous is None and len(first.areas) >= 2
    again, _ = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=date(2026, 2, 10))
    assert again == first  # same inputs, same stored run
    assert first.rule_versions == tuple(
        sorted(f"{r.name} {r.version}" for r in app.plugins.rule_sets())
    )
    later, before = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=END)
    assert before == first and later.inputs_hash != first.inputs_hash
    assert all(a.movement is not None for a in later.areas)
    paths = issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, tmp_path, as_of=END)
    text = "\n".join(p.text for p in docx.Document(str(paths[0])).paragraphs)
    assert "周通报" in text and "点名通报" in text and "过期食品" in paths[2].read_text()


def test_only_an_office_issues_a_ranking_anyone_in_scope_reads_a_stored_one(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _scenario(app, store, roster)
    cadre = twores.Scope("包保干部", twores.Role.CADRE, COUNTY)
    with pytest.raises(twores.ScopeError, match="发布排名与通报"):
        rank_children(app, store, cadre, "2026Q1", COUNTY, as_of=END)
    issued, _ = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=END)
    assert rank_children(app, store, cadre, "2026Q1", COUNTY, as_of=END)[0] == issued


def test_an_area_with_no_child_areas_has_nothing_to_rank_and_no_bulletin(
    app: twores.Twores, store: twores.Store, roster: twores.Roster, tmp_path: Path
) -> None:
    _scenario(app, store, roster)
    village = next(a.code for a in roster.hierarchy if not roster.hierarchy.children(a.code))
    for issue in (
        lambda: rank_children(app, store, ADMIN, "2026Q1", village, as_of=END),
        lambda: issue_bulletin(app, store, ADMIN, "2026Q1", village, tmp_path / "b", as_of=END),
    ):
        with pytest.raises(twores.InvalidValueError, match="没有下级区划") as refused:
            issue()
        assert refused.value.field == "area_code" and refused.value.value == village
    assert not (tmp_path / "b").exists()


def test_a_kpi_table_shows_the_scopes_own_area_and_never_one_above_it(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _scenario(app, store, roster)
    office = twores.Scope("灵川县食安办", twores.Role.OFFICE, COUNTY)
    table = compute_kpis(app, store, office, "2026Q1", as_of=END)
    assert shown_areas(table, office)[0] == COUNTY
    with pytest.raises(twores.ScopeError):
        shown_areas(table, office, COUNTY[:4])  # the city above: other counties' rows
    everyone = compute_kpis(app, store, ADMIN, "2026Q1", as_of=END)
    (root,) = everyone.children(None)
    assert shown_areas(everyone, ADMIN) == [root, *everyone.children(root)]
    # a township's counts are no partial figure for the county above it
    township_code = everyone.children(COUNTY)[0]
    township = twores.Scope("镇食安办", twores.Role.OFFICE, township_code)
    mine = compute_kpis(app, store, township, "2026Q1", as_of=END)
    assert COUNTY not in mine.values["task_completion"]
    assert mine.value("task_completion", township_code) == everyone.value(
        "task_completion", township_code
    )
    with pytest.raises(twores.ScopeError):
        mine.value("task_completion", COUNTY)


def test_each_run_is_compared_with_the_latest_earlier_run_of_its_kind(
    app: twores.Twores, store: twores.Store, roster: twores.Roster, tmp_path: Path
) -> None:
    _scenario(app, store, roster)
    feb, mar = date(2026, 2, 10), date(2026, 3, 10)
    weekly = RunKind.WEEKLY
    week1, _ = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=feb, kind=weekly)
    rank_children(app, store, ADMIN, "2026Q2", COUNTY, as_of=date(2026, 5, 1))  # later, ad hoc
    rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=date(2026, 3, 1))  # ad hoc
    week2, before = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=mar, kind=weekly)
    assert before == week1  # last week's bulletin, not a later or an ad-hoc run
    again, before_again = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=feb, kind=weekly)
    assert again == week1 and before_again is None  # a repeat is compared as it first was
    rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=date(2026, 2, 1), kind=weekly)
    again, before_again = rank_children(app, store, ADMIN, "2026Q1", COUNTY, as_of=feb, kind=weekly)
    assert again == week1 and before_again is None  # even after an earlier run is back-dated
    repeat, before_repeat = rank_children(
        app, store, ADMIN, "2026Q1", COUNTY, as_of=mar, kind=weekly
    )
    assert repeat == week2 and before_repeat == week1
    assert week1.kind is weekly and week1.as_of == feb and week2.as_of == mar
    _, daily_before = rank_children(
        app, store, ADMIN, "2026Q1", COUNTY, as_of=END, kind=RunKind.DAILY
    )
    assert daily_before is None  # no earlier daily dispatch
    flipped = {s.name: s for s in compute_kpis(app, store, ADMIN, "2026Q1", as_of=END).specs}
    values = [KpiValue("coverage", COUNTY + "001", "2026Q1", 1, 2)]
    up = rank_areas(COUNTY, "2026Q1", values, flipped, as_of=END)
    down_spec = attrs.evolve(flipped["coverage"], direction=Direction.LOWER_IS_BETTER)
    down = rank_areas(COUNTY, "2026Q1", values, {**flipped, "coverage": down_spec}, as_of=END)
    assert up.inputs_hash != down.inputs_hash  # the direction is an input of the run


def test_counts_are_as_they_stood_on_the_as_of_day(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _scenario(app, store, roster)
    with store.unit_of_work(ADMIN) as uow:
        (problem,) = uow.problems.stream()
    steps = [(Action.SUBMIT, "乙", 18), (Action.VERIFY, "丙", 19), (Action.CLOSE, "丙", 20)]
    for action, actor, day in steps:
        transition_problem(
            app,
            store,
            ADMIN,
            problem.id,
            action,
            actor=actor,
            at=datetime(2026, 3, day, 10, tzinfo=CHINA_TZ),
            evidence=("ab" * 32,),
        )

    def counts(kpi: str, day: date) -> tuple[int, int]:
        value = compute_kpis(app, store, ADMIN, "2026Q1", as_of=day).value(kpi, COUNTY)
        return value.numerator, value.denominator

    with store.unit_of_work(ADMIN) as uow:  # one business closes on 03-20
        closing = next(b for b in uow.businesses.stream() if b.key != problem.business_key)
        closed = attrs.evolve(
            closing, status=twores.OperatingStatus.CLOSED, status_since=date(2026, 3, 20)
        )
        uow.businesses.upsert_many([closed])
        uow.commit()
    held = len(roster.businesses)
    assert counts("coverage", date(2026, 3, 17)) == (held, held)  # still operating then
    assert counts("coverage", END) == (held - 1, held - 1)
    visited_by_feb5 = sum(1 for i in range(held) if i % 3 and 1 + i % 20 <= 5)
    assert counts("task_completion", date(2026, 2, 5)) == (visited_by_feb5, held)
    assert counts("overdue_problems", date(2026, 3, 17)) == (1, 1)  # deadline 03-16 passed
    assert counts("rectification", date(2026, 3, 17)) == (0, 1)
    assert counts("overdue_problems", END) == (0, 0)  # closed on 03-20
    assert counts("rectification", END) == (1, 1)
    with store.unit_of_work(ADMIN) as uow:
        assert [p.id for p in uow.problems.stream(open_on=date(2026, 3, 17))] == [problem.id]
        assert list(uow.problems.stream(open_on=END)) == []


def test_a_shorter_period_counts_the_tasks_done_by_its_own_end(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _scenario(app, store, roster)  # the quarter's visits fall on 1-20 February
    held = len(roster.businesses)

    def completion(period: str) -> tuple[int, int]:
        value = compute_kpis(app, store, ADMIN, period).value("task_completion", COUNTY)
        return value.numerator, value.denominator

    by_feb8 = sum(1 for i in range(held) if i % 3 and 1 + i % 20 <= 8)
    for _ in range(2):  # counted, then read back from the summary
        assert completion("2026-01") == (0, held)  # the quarter's tasks; none done by 31 Jan
        assert completion("2026-W06") == (by_feb8, held)  # 2-8 February
    with store.unit_of_work(ADMIN) as uow:  # a March visit moves the stored counts …
        task = next(t for t in uow.tasks.stream() if not t.done)
    record_visits(
        app,
        store,
        ADMIN,
        [VisitInput(task.business_key, task.cadre_id or "", date(2026, 3, 5))],
        now=datetime(2026, 3, 6, 9, tzinfo=CHINA_TZ),
    )
    assert completion("2026-01") == (0, held)  # … but not January's
    visited = sum(1 for i in range(held) if i % 3) + 1
    assert completion("2026-03")[0] == completion("2026Q1")[0] == visited


def test_an_area_above_the_scope_is_refused_not_narrowed(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _scenario(app, store, roster)
    township = next(a.code for a in roster.hierarchy if a.tier is twores.Tier.TOWNSHIP)
    office = twores.Scope("镇食安办", twores.Role.OFFICE, township)
    for above in (COUNTY, COUNTY[:4], COUNTY[:2]):
        with pytest.raises(twores.ScopeError):
            compute_kpis(app, store, office, "2026Q1", as_of=END, within=above)
        with pytest.raises(twores.ScopeError):
            schedule(app, store, office, "2026Q1", on=START, within=above)
    assert compute_kpis(app, store, office, "2026Q1", as_of=END, within=township).values


def test_a_week_across_two_quarters_counts_the_quarter_it_is_in_that_day(
    app: twores.Twores, store: twores.Store, roster: twores.Roster
) -> None:
    _scenario(app, store, roster)  # 2026Q1's tasks, two in three done in February
    schedule(app, store, ADMIN, "2026Q2", on=START)
    held = len(roster.businesses)

    def completion(period: str, as_of: date) -> tuple[int, int]:
        table = compute_kpis(app, store, ADMIN, period, as_of=as_of)
        value = table.value("task_completion", COUNTY)
        return value.numerator, value.denominator

    done_q1 = sum(1 for i in range(held) if i % 3)
    for _ in range(2):  # counted, then read back from the summary
        # 2026-W14 runs 30 March - 5 April: on the 31st its quarter is Q1, on the 5th Q2
        assert completion("2026-W14", date(2026, 3, 31)) == (done_q1, held)
        assert completion("2026-W14", date(2026, 4, 5)) == (0, held)
        assert completion("2026-04-01", date(2026, 4, 1)) == (0, held)
        assert completion("2026H1", date(2026, 4, 5)) == (done_q1, 2 * held)


def test_a_period_not_begun_is_neither_ranked_nor_reported(
    app: twores.Twores, store: twores.Store, roster: twores.Roster, tmp_path: Path
) -> None:
    _scenario(app, store, roster)
    parent = COUNTY[:4]
    with pytest.raises(twores.InvalidValueError) as refused:
        rank_children(app, store, ADMIN, "2026Q2", parent, as_of=END)
    assert refused.value.field == "period" and "尚未开始" in refused.value.reason_zh
    out = tmp_path / "通报"
    with pytest.raises(twores.InvalidValueError):
        issue_bulletin(app, store, ADMIN, "2026Q2", parent, out, as_of=END)
    assert not out.exists()
    _, previous = rank_children(app, store, ADMIN, "2026Q2", parent, as_of=date(2026, 4, 2))
    assert previous is None  # no run was stored for the refused tries


def test_a_bulletin_whose_folder_cannot_be_made_stores_no_run(
    app: twores.Twores, store: twores.Store, roster: twores.Roster, tmp_path: Path
) -> None:
    """The stored run is what the next bulletin compares with: a failed bulletin keeps none."""
    _scenario(app, store, roster)
    (tmp_path / "notadir").write_text("")
    with store.unit_of_work(ADMIN) as uow:
        logged = len(list(uow.audit.entries()))
    with pytest.raises(twores.InvalidValueError, match="不是文件夹") as refused:
        issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, tmp_path / "notadir" / "x", as_of=END)
    assert "not a folder" in refused.value.message_en
    with store.unit_of_work(ADMIN) as uow:
        assert len(list(uow.audit.entries())) == logged  # no ranking run stored
