"""Data-quality signals as an office sees them: grouped sessions, visits entered on the
spot, reports over part of a window, visits outside the assignment, standard wording;
and the KPI table's counts."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import twores
from twores.core.assignment import Assignment, plan_assignments
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.core.quality import SignalKind
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.assignments import upsert_cadres
from twores.services.quality import QualityReport, quality_report
from twores.services.supervision import VisitInput, record_visits, schedule
from twores.services.synth import synthetic_roster

COUNTY = "450323"
ADMIN = twores.Scope("office", twores.Role.ADMIN)
START = date(2026, 1, 1)
PHOTO = "ab" * 32
K = SignalKind


@attrs.frozen
class World:
    app: twores.Twores
    store: Store
    by_cadre: dict[str, list[Assignment]]

    def busiest(self) -> tuple[str, list[Assignment]]:
        """The cadre holding the most businesses, and those assignments."""
        return max(sorted(self.by_cadre.items()), key=lambda kv: len(kv[1]))

    def record(self, visits: list[VisitInput], on: date, hour: int = 15) -> None:
        now = datetime(on.year, on.month, on.day, hour, tzinfo=CHINA_TZ)
        record_visits(self.app, self.store, ADMIN, visits, now=now)

    def report(self, period: str) -> QualityReport:
        return quality_report(self.app, self.store, ADMIN, period)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """灵川县 with 400 businesses and 30 cadres, 2026Q1 scheduled."""
    app = twores.build(load_entrypoints=False)
    store: Store = (
        MemoryStore() if request.param == "memory" else SqlStore(f"sqlite:///{tmp_path / 'q.db'}")
    )
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=400, cadres=30, seed=5, within=COUNTY)
    plan = plan_assignments(roster, app.plugins.rulebook(), START)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan)
        uow.commit()
    schedule(app, store, ADMIN, "2026Q1", on=START)
    by_cadre: dict[str, list[Assignment]] = defaultdict(list)
    with store.unit_of_work(ADMIN) as uow:
        for a in sorted(uow.assignments.stream(active_on=START), key=lambda a: a.business_key):
            by_cadre[a.cadre_id].append(a)
    return World(app, store, dict(by_cadre))


def kinds(report: QualityReport) -> list[SignalKind]:
    return [s.kind for s in report.signals]


# --- 2: a grouped session -----------------------------------------------------------------


def test_a_grouped_session_raises_no_signal(world: World) -> None:
    cadre, mine = world.busiest()
    day = date(2026, 3, 10)
    session = [VisitInput(a.business_key, cadre, day, "集中", evidence=(PHOTO,)) for a in mine[:10]]
    world.record(session, day)
    assert world.report("2026Q1").signals == ()


def test_abuse_beside_a_grouped_session_is_still_flagged(world: World) -> None:
    cadre, mine = world.busiest()
    day = date(2026, 3, 10)
    session = [VisitInput(a.business_key, cadre, day, "集中", evidence=(PHOTO,)) for a in mine[:3]]
    # the session's photo attached again to an on-site visit of another day: reused
    again = VisitInput(mine[3].business_key, cadre, day + timedelta(1), evidence=(PHOTO,))
    world.record([*session, again], day + timedelta(1))
    [reused] = world.report("2026Q1").signals
    assert reused.kind is K.SAME_EVIDENCE and len(reused.visits) == 4


# --- 3: entered on the spot ---------------------------------------------------------------


def test_visits_entered_the_day_they_happen_are_not_back_filled(world: World) -> None:
    cadre, mine = world.busiest()
    for i, a in enumerate(mine[:6]):
        day = date(2026, 3, 30 + i % 2)
        world.record([VisitInput(a.business_key, cadre, day)], day)  # on the spot
    assert world.report("2026Q1").signals == ()


def test_visits_back_filled_before_the_close_are_flagged(world: World) -> None:
    cadre, mine = world.busiest()
    for i, a in enumerate(mine[:6]):
        world.record([VisitInput(a.business_key, cadre, date(2026, 3, 2 + i))], date(2026, 3, 31))
    [signal] = world.report("2026Q1").signals
    assert signal.kind is K.LAST_MINUTE and "补录 6 条督导" in signal.zh
    assert "back-filled 6 of 6 visits" in signal.en


# --- 4: the share over the window's whole period ------------------------------------------


def _early_and_back_filled(world: World, back_filled: int) -> str:
    """Five visits of January entered the same day, then ``back_filled`` of March entered
    on 31 March."""
    cadre, mine = world.busiest()
    for i, a in enumerate(mine[:5]):
        day = date(2026, 1, 10 + i)
        world.record([VisitInput(a.business_key, cadre, day)], day)
    for a in mine[5 : 5 + back_filled]:
        world.record([VisitInput(a.business_key, cadre, date(2026, 3, 20))], date(2026, 3, 31))
    return cadre


@pytest.mark.parametrize("period", ["2026Q1", "2026-03", "2026-W12"])
def test_the_back_filling_share_does_not_depend_on_the_period_reported(
    world: World, period: str
) -> None:
    _early_and_back_filled(world, 5)  # 5 of 10 in the window's period: not more than half
    assert world.report(period).signals == ()


@pytest.mark.parametrize("period", ["2026Q1", "2026-03", "2026-W12"])
def test_the_back_filling_explanation_counts_the_window_period(world: World, period: str) -> None:
    _early_and_back_filled(world, 6)
    [signal] = world.report(period).signals
    assert signal.kind is K.LAST_MINUTE and len(signal.visits) == 6
    assert "补录 6 条督导" in signal.zh and "占该期 11 条的 55%" in signal.zh
    assert "6 of 11 visits (55%)" in signal.en
    assert world.report("2026-01").signals == ()  # none of its entries dated then


# --- 5: outside the assignment ------------------------------------------------------------


def test_visits_after_the_cadre_left_are_flagged(world: World) -> None:
    cadre, mine = world.busiest()
    for i, a in enumerate(mine[:4]):
        day = date(2026, 2, 10 + 5 * i)
        world.record([VisitInput(a.business_key, cadre, day)], day)
    with world.store.unit_of_work(ADMIN) as uow:
        left = attrs.evolve(uow.cadres.get(cadre), active_to=date(2026, 2, 1))
        upsert_cadres(uow, [left])
        uow.commit()
    report = world.report("2026Q1")
    assert kinds(report) == [K.AFTER_ASSIGNMENT] * 4
    assert all("但其包保已于 2026-01-31 结束" in s.zh for s in report.signals)  # last day held
    assert all("after the assignment ended on 2026-01-31" in s.en for s in report.signals)
    assert report.by_area[COUNTY][K.AFTER_ASSIGNMENT] == 4


# --- 6: standard wording ------------------------------------------------------------------


def test_standard_wording_across_cadres_is_not_identical_text(world: World) -> None:
    day = date(2026, 3, 2)
    cadres = sorted(world.by_cadre)[:8]
    visits = [
        VisitInput(world.by_cadre[c][0].business_key, c, day, findings=("进货查验记录不全",))
        for c in cadres
    ]
    world.record(visits, day)
    assert world.report("2026Q1").signals == ()


def test_one_cadre_pasting_a_text_is_flagged(world: World) -> None:
    cadre, mine = world.busiest()
    text = "后厨操作间地面有积水，防蝇设施破损未及时修复"
    day = date(2026, 3, 2)
    world.record([VisitInput(a.business_key, cadre, day, findings=(text,)) for a in mine[:4]], day)
    [signal] = world.report("2026Q1").signals
    assert signal.kind is K.SAME_TEXT and len(signal.visits) == 4
    assert f"干部 {cadre} 在 4 个主体的 4 条督导记录中" in signal.zh
    assert f"cadre {cadre} wrote the identical finding text" in signal.en


# --- 8: the KPI table's counts ------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "twores_cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=False)


def test_the_kpi_table_shows_numerator_and_denominator(tmp_path: Path) -> None:
    db = str(tmp_path / "town.db")
    made = _cli("--db", db, "synth", "--businesses", "10", "--cadres", "5", "--area",
                "450323101", "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    args = ("kpi", "2025Q3", "--area", "450323101")
    shown = _cli("--db", db, "--format", "json", *args, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    top = json.loads(shown.stdout)["areas"][0]
    listed = _cli("--db", db, "--format", "csv", *args, cwd=tmp_path)
    header, first = list(csv.reader(io.StringIO(listed.stdout)))[:2]
    counted = {name: pair for name, pair in top.items() if isinstance(pair, list)}
    assert "overdue_problems" in counted
    for name, (numerator, denominator) in counted.items():
        cell = first[header.index(_label(name))]
        assert cell.endswith(f"({numerator}/{denominator})"), (name, cell)
    overdue = first[header.index("逾期未整改问题")]
    assert overdue.endswith(f"({top['overdue_problems'][0]}/{top['overdue_problems'][1]})")
    table = _cli("--db", db, *args, cwd=tmp_path)
    assert table.returncode == 0 and f"/{top['coverage'][1]})" in table.stdout


def _label(name: str) -> str:
    from twores.services.kpis import kpi_specs

    spec = next(s for s in kpi_specs(twores.build(load_entrypoints=False)) if s.name == name)
    return spec.label("zh")


# --- 6 through the command line -------------------------------------------------------------


def test_quality_on_the_demo_flags_copying_not_stock_wording(tmp_path: Path) -> None:
    import sqlite3

    db = str(tmp_path / "twores.db")
    assert _cli("--db", db, "demo", "--businesses", "400", cwd=tmp_path).returncode == 0
    stock = _cli("--db", db, "--format", "json", "quality", "2025Q4", cwd=tmp_path)
    assert stock.returncode == 0, stock.stderr
    assert json.loads(stock.stdout)["signals"] == []  # checklist wording, many cadres
    with sqlite3.connect(db) as connection:
        pairs = connection.execute(
            "SELECT business_key, cadre_id FROM assignments WHERE valid_to IS NULL "
            "ORDER BY business_key LIMIT 2"
        ).fetchall()
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"one photo")
    for business, cadre in pairs:  # the same photo for two businesses: reused
        visit = ("visit", "record", business, cadre, "--date", "2025-12-01")
        recorded = _cli(
            "--db", db, *visit, "--evidence", str(photo), "--late-reason", "补录", cwd=tmp_path
        )
        assert recorded.returncode == 0, recorded.stderr
    found = json.loads(
        _cli("--db", db, "--format", "json", "quality", "2025Q4", cwd=tmp_path).stdout
    )
    # Entered now: at night (23:00-6:00 Beijing time) each entry is also flagged odd_hours.
    [reused] = [s for s in found["signals"] if s["kind"] != "odd_hours"]
    assert reused["kind"] == "same_evidence" and len(reused["visits"]) == 2
    assert 1 <= sum(c.get("same_evidence", 0) for c in found["by_area"].values()) <= 2
    table = _cli("--db", db, "--lang", "en", "quality", "2025Q4", cwd=tmp_path)
    assert table.returncode == 0 and "total" in table.stdout
