"""Setting up a database: ``init`` and ``synthesize`` report what they stored."""

from __future__ import annotations

from pathlib import Path

import pytest

import twores
from twores.core.errors import InvalidValueError
from twores.core.periods import Frequency, PeriodKind
from twores.core.rules import Rule, RuleSet, Ruling
from twores.plugins import hookimpl
from twores.services.demo import run_demo
from twores.services.setup import synthesize
from twores.services.stores import open_store


def test_synthesize_reports_what_it_stored(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    url = f"sqlite:///{tmp_path / 'synth.db'}"
    report = synthesize(app, url, businesses=40, cadres=1, area="450323")
    store = open_store(app, url)
    try:
        with store.unit_of_work(twores.Scope.system()) as uow:
            assert (report.businesses, report.cadres) == (
                uow.businesses.count(),
                uow.cadres.count(),
            )
    finally:
        store.close()
    assert report.businesses == 40 and report.cadres > 1  # at least one cadre per area


def test_a_negative_size_is_refused(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False)
    with pytest.raises(InvalidValueError) as error:
        synthesize(app, f"sqlite:///{tmp_path / 'x.db'}", businesses=-5, cadres=10)
    assert error.value.field == "businesses"
    assert not (tmp_path / "x.db").exists()


class _TwiceAMonth:
    """A region whose cadres visit twice a month: several tasks per business a quarter."""

    RULE = Rule("test.freq.monthly", "每月督导2次", "twice a month", "测试")

    @hookimpl
    def twores_rule_sets(self) -> list[RuleSet]:
        return [RuleSet("twice_a_month", "1", "测试", "test", (self.RULE,))]

    @hookimpl(tryfirst=True)
    def twores_supervision_frequency(self) -> Ruling[Frequency]:
        return Ruling(Frequency(PeriodKind.MONTH, 2), self.RULE)


def test_a_simulated_quarter_visits_each_task_within_its_own_period(tmp_path: Path) -> None:
    app = twores.build(load_entrypoints=False, plugins=[_TwiceAMonth()])
    url = f"sqlite:///{tmp_path / 'synth.db'}"
    report = synthesize(
        app, url, businesses=60, cadres=30, area="450323", quarter=True, folder=tmp_path
    )
    assert report.cycle is not None
    (quarter,) = report.cycle.quarters
    assert quarter.tasks > 60 * 3 and quarter.visits > quarter.tasks // 2
    store = open_store(app, url)
    try:
        with store.unit_of_work(twores.Scope.system()) as uow:
            tasks = list(uow.tasks.stream())
            visits = {v.key: v for v in uow.visits.stream()}
    finally:
        store.close()
    assert len(visits) == quarter.visits  # none fell on a day its business had one already
    credited = [t for t in tasks if t.visit_id is not None]
    assert len(credited) == quarter.visits  # each visit fulfils a task of its own period
    assert all(visits[t.visit_id].visited_on in t.period for t in credited)


def test_a_quarter_not_yet_begun_is_not_simulated(tmp_path: Path) -> None:
    """Its KPIs and bulletin would count days not yet come: refused before any write."""
    app = twores.build(load_entrypoints=False)
    db = tmp_path / "synth.db"
    on = twores.today()  # the next quarter starts after today
    with pytest.raises(InvalidValueError, match="has not begun"):
        synthesize(
            app,
            f"sqlite:///{db}",
            businesses=20,
            cadres=10,
            area="450323",
            on=on,
            quarter=True,
            folder=tmp_path,
        )
    assert not db.exists()
    with pytest.raises(InvalidValueError, match="尚未开始"):
        run_demo(app, db=str(db), businesses=20, cadres=10, on=on, folder=tmp_path)
    assert not db.exists()
