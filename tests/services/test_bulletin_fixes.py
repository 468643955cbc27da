"""Bulletins and rankings: a failed bulletin changes nothing, its kind is checked first, a
future as-of day is refused, runs follow by period, weight-0 KPIs are not named, text XML
cannot hold is written, and the dashboard memo recounts once its day is over."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import docx
import pytest
from openpyxl import load_workbook

import twores
import twores.services.bulletin as bulletin_module
import twores.services.kpis as kpis_module
from twores.core.assignment import plan_assignments
from twores.core.kpis import RunKind
from twores.core.periods import CHINA_TZ
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.bulletin import (
    BulletinInput,
    OverdueItem,
    bulletin_markdown,
    naming_text,
    overview_text,
    write_bulletin,
)
from twores.services.kpis import compute_kpis, issue_bulletin, kpi_dashboard, rank_children
from twores.services.problems import NewProblem, open_problems
from twores.services.synth import synthetic_roster

from .test_bulletin import BULLETIN, SUPERVISION

COUNTY = "450323"
CITY = "4503"
ADMIN = twores.Scope("office", twores.Role.ADMIN)
START = date(2026, 1, 5)
TODAY = date(2026, 4, 20)


@pytest.fixture
def app() -> twores.Twores:
    return twores.build(load_entrypoints=False)


@pytest.fixture(params=["memory", "sqlite"])
def store(
    request: pytest.FixtureRequest, app: twores.Twores, tmp_path: Path
) -> Iterator[twores.Store]:
    made: twores.Store = (
        MemoryStore()
        if request.param == "memory"
        else SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")
    )
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=40, cadres=12, seed=3, within=COUNTY)
    with made.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
        uow.commit()
    yield made
    made.close()


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kpis_module, "today", lambda: TODAY)


def _runs(store: twores.Store) -> int:
    with store.unit_of_work(ADMIN) as uow:
        return sum(1 for e in uow.audit.entries() if e.entity == "ranking")


# --- a failed bulletin changes nothing ------------------------------------------------------


def test_a_folder_where_a_file_goes_stores_no_run_and_writes_no_file(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    out = tmp_path / "通报"
    (out / f"{COUNTY}-2026Q1-周通报.docx").mkdir(parents=True)
    with pytest.raises(twores.InvalidValueError, match="这是一个文件夹") as refused:
        issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31))
    assert refused.value.field == "file" and "a folder, not a file" in refused.value.message_en
    assert _runs(store) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{COUNTY}-2026Q1-周通报.docx"]


def test_a_writer_that_fails_midway_stores_no_run_and_leaves_no_file(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(b: BulletinInput, path: Path) -> Path:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(bulletin_module, "write_bulletin_xlsx", broken)
    out = tmp_path / "通报"
    with pytest.raises(OSError, match="No space"):
        issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31))
    assert _runs(store) == 0
    assert list(out.iterdir()) == []  # no .md, no .docx, no scratch folder
    monkeypatch.undo()
    monkeypatch.setattr(kpis_module, "today", lambda: TODAY)
    paths = issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31))
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert _runs(store) == 1


STEM = f"{COUNTY}-2026Q1-周通报"
ENDINGS = (".docx", ".xlsx", ".md")


def _old_bulletin(out: Path) -> dict[str, bytes]:
    """An earlier bulletin of the same name (its run not stored), as the folder holds it."""
    out.mkdir(parents=True)
    for ending in ENDINGS:
        (out / f"{STEM}{ending}").write_bytes(f"earlier {ending}".encode())
    return _files(out)


def _files(out: Path) -> dict[str, bytes]:
    """Every entry in the folder (a scratch folder left behind fails ``read_bytes``)."""
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _unit_classes(store: twores.Store) -> tuple[type[Any], type[Any]]:
    """The store's unit-of-work class and its rankings repository class, to patch."""
    with store.unit_of_work(ADMIN) as uow:
        return type(uow), type(uow.rankings)


def test_a_commit_that_fails_puts_back_the_earlier_bulletin(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "通报"
    earlier = _old_bulletin(out)
    unit, rankings = _unit_classes(store)
    recorded: list[object] = []
    real_record, real_commit = rankings.record, unit.commit

    def record(self: object, run: object) -> None:
        recorded.append(run)
        real_record(self, run)

    def commit(self: object) -> None:  # the unit storing the run (not SQL's memo) fails
        if recorded:
            raise OSError(28, "No space left on device")
        real_commit(self)

    monkeypatch.setattr(rankings, "record", record)
    monkeypatch.setattr(unit, "commit", commit)
    with pytest.raises(OSError, match="No space"):
        issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31))
    assert _files(out) == earlier  # byte-identical, no new file, no scratch folder
    assert _runs(store) == 0


@pytest.mark.parametrize("failing", [2, 4, 6])
def test_a_file_move_that_fails_puts_back_the_earlier_bulletin(
    app: twores.Twores,
    store: twores.Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing: int,
) -> None:
    """E.g. the old .xlsx open in Excel on Windows: the moves already done are undone."""
    out = tmp_path / "通报"
    earlier = _old_bulletin(out)
    calls: list[str] = []
    real = os.replace

    def flaky(source: str | Path, target: str | Path) -> None:
        calls.append(str(target))
        if len(calls) == failing:
            raise PermissionError(13, "The file is open in another program", str(target))
        real(source, target)

    monkeypatch.setattr("twores.services.bulletin.os.replace", flaky)
    with pytest.raises(PermissionError, match="open in another program"):
        issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31))
    assert _files(out) == earlier  # byte-identical, no new file, no scratch folder
    assert _runs(store) == 0


def test_a_bulletin_recorded_before_its_files_are_published_replaces_the_earlier_one(
    app: twores.Twores, store: twores.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run is recorded before any file moves (a refused record leaves the folder as it
    was) and committed once all three are in place."""
    out = tmp_path / "通报"
    earlier = _old_bulletin(out)
    unit, rankings = _unit_classes(store)
    seen: list[tuple[str, dict[str, bytes]]] = []
    real_record, real_commit = rankings.record, unit.commit

    def in_place() -> dict[str, bytes]:  # the scratch folder is still there
        return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def record(self: object, run: object) -> None:
        seen.append(("record", in_place()))
        real_record(self, run)

    def commit(self: object) -> None:
        seen.append(("commit", in_place()))
        real_commit(self)

    monkeypatch.setattr(rankings, "record", record)
    monkeypatch.setattr(unit, "commit", commit)
    issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31))
    (_, at_record), (_, at_commit) = seen[-2:]  # (SQL counting may commit its memo first)
    assert [step for step, _ in seen[-2:]] == ["record", "commit"]
    assert at_record == earlier
    assert sorted(at_commit) == sorted(earlier)
    assert all(at_commit[n] != earlier[n] for n in earlier)  # published before the commit
    after = _files(out)
    assert sorted(after) == sorted(f"{STEM}{e}" for e in ENDINGS)  # no backup, no scratch
    assert all(after[n] != earlier[n] for n in earlier)
    assert docx.Document(str(out / f"{STEM}.docx")).paragraphs
    assert _runs(store) == 1


# --- the kind is checked first --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ranking", "monthly", RunKind.RANKING])
def test_a_bulletin_kind_is_checked_before_anything_is_stored(
    app: twores.Twores, store: twores.Store, tmp_path: Path, kind: object
) -> None:
    out = tmp_path / "通报"
    with pytest.raises(twores.InvalidValueError) as refused:
        issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, out, as_of=date(2026, 3, 31), kind=kind)  # type: ignore[arg-type]
    error = refused.value
    assert error.field == "kind" and error.value == getattr(kind, "value", kind)
    assert "周通报" in error.message_zh and "weekly" in error.message_en
    assert _runs(store) == 0 and not out.exists()


@pytest.mark.parametrize(
    ("kind", "zh"), [("日调度", "日调度"), (RunKind.DAILY, "日调度"), ("Weekly", "周通报")]
)
def test_every_spelling_of_a_bulletin_kind_is_written(
    app: twores.Twores, store: twores.Store, tmp_path: Path, kind: object, zh: str
) -> None:
    docx_path, _, md = issue_bulletin(
        app,
        store,
        ADMIN,
        "2026Q1",
        COUNTY,
        tmp_path,
        as_of=date(2026, 3, 31),
        kind=kind,  # type: ignore[arg-type]
    )
    assert docx_path.name == f"{COUNTY}-2026Q1-{zh}.docx"
    assert ("日调度表" if zh == "日调度" else "周通报") in md.read_text(encoding="utf-8")


# --- a future as-of day ---------------------------------------------------------------------


def test_an_as_of_day_after_today_is_refused_everywhere(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    ahead = TODAY + timedelta(days=1)
    calls = [
        lambda: compute_kpis(app, store, ADMIN, "2026Q2", as_of=ahead),
        lambda: kpi_dashboard(app, store, ADMIN, "2026Q2", CITY, as_of=ahead),
        lambda: rank_children(app, store, ADMIN, "2026Q2", COUNTY, as_of=ahead),
        lambda: issue_bulletin(app, store, ADMIN, "2026Q2", COUNTY, tmp_path / "o", as_of=ahead),
    ]
    for call in calls:
        with pytest.raises(twores.InvalidValueError) as refused:
            call()
        error = refused.value
        assert error.field == "as_of" and error.value == "2026-04-21"
        assert "晚于今天" in error.message_zh and "after today" in error.message_en
    assert _runs(store) == 0 and not (tmp_path / "o").exists()
    table = compute_kpis(app, store, ADMIN, "2026Q2", as_of=TODAY)  # today itself is fine
    assert table.as_of == TODAY


# --- the run a ranking follows --------------------------------------------------------------


def test_a_run_follows_the_latest_earlier_period_then_as_of_day(
    app: twores.Twores, store: twores.Store
) -> None:
    """W13 counted past its end (for late entries) still comes before W14."""

    def previous(week: str, day: date) -> str | None:
        _, before = rank_children(app, store, ADMIN, week, COUNTY, as_of=day)
        return None if before is None else f"{before.period}@{before.as_of}"

    assert previous("2026-W12", date(2026, 3, 22)) is None
    assert previous("2026-W13", date(2026, 4, 6)) == "2026-W12@2026-03-22"
    assert previous("2026-W14", date(2026, 4, 3)) == "2026-W13@2026-04-06"
    assert previous("2026-W14", date(2026, 4, 5)) == "2026-W14@2026-04-03"
    assert previous("2026-W15", date(2026, 4, 12)) == "2026-W14@2026-04-05"


# --- KPIs weighted 0 --------------------------------------------------------------------------


def test_a_kpi_weighted_zero_is_neither_named_nor_listed_as_ranked() -> None:
    """叠彩's weakest KPI is supervision (60%); weighted 0 it is out of the ranking."""
    assert "短板为督导任务完成率60.0%" in naming_text(BULLETIN)
    unranked = attrs.evolve(SUPERVISION, weight=0.0)
    b = attrs.evolve(BULLETIN, specs=(BULLETIN.specs[0], unranked))
    naming = naming_text(b)
    assert "督导任务完成率" not in naming and "短板为包保覆盖率80.0%" in naming
    overview = overview_text(b)
    assert "包保覆盖率进行排名" in overview and "督导任务完成率" not in overview
    assert "督导任务完成率" in bulletin_markdown(b)  # still shown in the ranking table


# --- text XML cannot hold -------------------------------------------------------------------


def test_control_characters_are_written_as_spaces(tmp_path: Path) -> None:
    text = "过期食品\x0b未下架\x08标签\x1f不全"
    item = OverdueItem("P-009", "毛洲\x0c副食店", "象山区", text, date(2026, 3, 10), 20)
    b = attrs.evolve(BULLETIN, overdue=(item,))
    docx_path, xlsx_path, md_path = write_bulletin(b, tmp_path, "ctrl")
    cleaned = "过期食品 未下架 标签 不全"
    overdue = docx.Document(str(docx_path)).tables[-1]
    assert overdue.rows[1].cells[3].text == cleaned
    assert overdue.rows[1].cells[1].text == "毛洲 副食店"
    sheet = load_workbook(xlsx_path)["逾期问题"]
    assert sheet["D3"].value == cleaned
    assert f"| {cleaned} |" in md_path.read_text(encoding="utf-8")


# --- the dashboard memo -----------------------------------------------------------------------


def test_a_dashboard_read_the_next_day_owes_the_day_that_ended(
    app: twores.Twores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Summed while its as-of day was running, a dashboard is summed again once it is over
    (in one process, with no write in between)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'memo.db'}")
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=20, cadres=8, seed=3, within=COUNTY)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
        uow.commit()
    day = date(2026, 3, 10)

    def owed(now: date) -> tuple[int, int]:
        monkeypatch.setattr(kpis_module, "today", lambda: now)
        board = kpi_dashboard(app, store, ADMIN, "2026-W11", CITY, as_of=day)
        fresh = compute_kpis(app, store, ADMIN, "2026-W11", as_of=day, fresh=True)
        shown = board.values["daily_routine"][CITY]
        assert shown == fresh.value("daily_routine", CITY)
        return shown.numerator, shown.denominator

    running = owed(day)
    over = owed(day + timedelta(days=1))
    assert over[1] > running[1] > 0  # 03-10's own record is owed once the day is over
    store.close()


def test_the_cli_writes_a_stored_problem_holding_a_control_character(
    app: twores.Twores, tmp_path: Path
) -> None:
    """A problem stored before control characters were refused on input still goes into
    the bulletin, with no traceback."""
    db = tmp_path / "t.db"
    store = SqlStore(f"sqlite:///{db}")
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=20, cadres=8, seed=3, within=COUNTY)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
        uow.commit()
    business = sorted(roster.businesses)[0]
    at = datetime(2026, 3, 1, 9, tzinfo=CHINA_TZ)
    open_problems(
        app, store, ADMIN, [NewProblem(business, "过期食品", "甲", date(2026, 3, 1))], at=at
    )
    with store.unit_of_work(ADMIN) as uow:
        (problem,) = uow.problems.stream()
        uow.problems.upsert_many([attrs.evolve(problem, description="过期食品\b未下架")])
        uow.commit()
    store.close()
    out = tmp_path / "通报"
    args = ["--db", str(db), "bulletin", "2026Q1", "--parent", COUNTY, "--on", "2026-03-31"]
    done = subprocess.run(
        [sys.executable, "-m", "twores_cli.main", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    table = docx.Document(str(out / f"{COUNTY}-2026Q1-周通报.docx")).tables[-1]
    assert table.rows[1].cells[3].text == "过期食品 未下架"


@pytest.mark.parametrize("role", [twores.Role.CADRE, twores.Role.READ_ONLY])
def test_only_an_office_issues_a_bulletin_even_one_issued_before(
    app: twores.Twores, store: twores.Store, tmp_path: Path, role: twores.Role
) -> None:
    """A repeat is the stored run, but the bulletin is still an office's to issue (a cadre
    downloaded it once an office had issued the same one)."""
    issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, tmp_path / "a", as_of=date(2026, 3, 31))
    someone = twores.Scope(
        "someone", role, COUNTY, cadre_id="c1" if role is twores.Role.CADRE else None
    )

    with pytest.raises(twores.ScopeError):
        issue_bulletin(
            app, store, someone, "2026Q1", COUNTY, tmp_path / "b", as_of=date(2026, 3, 31)
        )

    assert not (tmp_path / "b").exists()


def test_the_overdue_list_names_each_business(
    app: twores.Twores, store: twores.Store, tmp_path: Path
) -> None:
    """The bulletin's overdue problems name their businesses (read in one batch)."""
    with store.unit_of_work(ADMIN) as uow:
        shops = sorted(uow.businesses.stream(), key=lambda b: b.key)[:3]
    at = datetime(2026, 3, 1, 9, tzinfo=CHINA_TZ)
    found = [NewProblem(b.key, f"过期食品{i}", "甲", date(2026, 3, 1)) for i, b in enumerate(shops)]
    open_problems(app, store, ADMIN, found, at=at)  # due by 03-31, so overdue on it
    paths = issue_bulletin(app, store, ADMIN, "2026Q1", COUNTY, tmp_path, as_of=date(2026, 3, 31))

    markdown = next(p for p in paths if p.suffix == ".md").read_text(encoding="utf-8")
    overdue = markdown.split("逾期", 1)[1]
    assert all(b.name in overdue for b in shops), overdue[:500]
