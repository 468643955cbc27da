"""Finding texts: "无" / "未发现问题" open no problem; control characters are refused (a
Word soft line break is read as a line break) before they reach the ledger."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

import twores
from twores.core.assignment import Assignment, plan_assignments
from twores.core.errors import InvalidValueError
from twores.core.periods import CHINA_TZ
from twores.core.ports import Store
from twores.core.problems import means_no_problem, real_findings
from twores.divisions import demo_region
from twores.plugins.builtin.memory import MemoryStore
from twores.plugins.sqlalchemy.backend import SqlStore
from twores.services.kpis import compute_kpis
from twores.services.problems import NewProblem, open_problems
from twores.services.quality import quality_report
from twores.services.supervision import VisitInput, record_visits, schedule
from twores.services.synth import synthetic_roster
from twores.services.visit_imports import import_visits

COUNTY = "450323"
ADMIN = twores.Scope("office", twores.Role.ADMIN)
START = date(2026, 1, 1)
DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 3, 10, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    "text",
    [
        *("无", "无。", "没有", "暂无", "正常", "/", "-", "——", "None", "n/a"),
        *("无问题", "没有问题", "未发现问题", "未发现明显问题", "未发现问题。", "无其他问题"),
        *("经现场检查，未发现明显问题", "经检查，无问题", "经现场检查未发现问题"),
        *("检查中未发现问题", "暂未发现食品安全隐患", "未发现明显异常", " 未发现 问题 "),
    ],
)
def test_texts_that_say_no_problem(text: str) -> None:
    assert means_no_problem(text)


@pytest.mark.parametrize(
    "text",
    [
        *("无证经营", "无证经营问题", "无健康证", "无健康证问题", "无进货查验记录"),
        *("未发现问题，但台账不全", "进货查验记录不全", "未公示许可证", "过期食品"),
        *("发现过期食品", "无防蝇设施", "未见健康证", "正常营业但未公示许可证"),
    ],
)
def test_real_problems_are_not_mistaken_for_none(text: str) -> None:
    assert not means_no_problem(text)


def test_real_findings_keep_the_problems_and_drop_the_nones() -> None:
    assert real_findings(("无证经营", "无其他问题")) == ("无证经营",)
    assert real_findings(("过期食品\x0b未下架",)) == ("过期食品\n未下架",)


# --- through the services -----------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")


@pytest.fixture
def app() -> twores.Twores:
    return twores.build(load_entrypoints=False)


@pytest.fixture
def held(app: twores.Twores, store: Store) -> list[Assignment]:
    """One assignment of each of the first eight cadres of 灵川县, 2026Q1 scheduled."""
    hierarchy = demo_region().subtree(COUNTY)
    roster = synthetic_roster(hierarchy, businesses=120, cadres=40, seed=5, within=COUNTY)
    with store.unit_of_work(ADMIN) as uow:
        uow.areas.upsert_many(roster.hierarchy)
        uow.businesses.upsert_many(roster.businesses.values())
        uow.cadres.upsert_many(roster.cadres.values())
        uow.assignments.apply(plan_assignments(roster, app.plugins.rulebook(), START))
        uow.commit()
    schedule(app, store, ADMIN, "2026Q1", on=START)
    with store.unit_of_work(ADMIN) as uow:
        assignments = sorted(uow.assignments.stream(active_on=START), key=lambda a: a.cadre_id)
    one_each = {a.cadre_id: a for a in reversed(assignments)}
    return sorted(one_each.values(), key=lambda a: a.cadre_id)[:8]


def _problems(store: Store) -> list[twores.Problem]:
    with store.unit_of_work(ADMIN) as uow:
        return list(uow.problems.stream())


def _sheet(path: Path, rows: list[tuple[Assignment, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["许可证编号", "干部编号", "督导日期", "督导方式", "发现问题"])
        for a, text in rows:
            writer.writerow([a.business_key, a.cadre_id, DAY.isoformat(), "现场", text])
    return path


NONE_CELLS = ["无", "未发现问题", *["经现场检查，未发现明显问题"] * 3, "/", "无问题"]


def test_a_sheet_saying_no_problem_opens_none(
    app: twores.Twores, store: Store, held: list[Assignment], tmp_path: Path
) -> None:
    sheet = _sheet(tmp_path / "v.csv", list(zip(held, NONE_CELLS, strict=False)))
    report = import_visits(app, store, ADMIN, sheet, now=NOW)
    assert report.accepted and report.inserted == len(NONE_CELLS)
    assert _problems(store) == []
    with store.unit_of_work(ADMIN) as uow:
        assert all(v.findings == () for v in uow.visits.stream())
    rectified = compute_kpis(app, store, ADMIN, "2026Q1", as_of=date(2026, 3, 31))
    assert rectified.value("rectification", COUNTY).denominator == 0
    assert quality_report(app, store, ADMIN, "2026Q1").signals == ()


def test_a_cell_with_a_problem_and_a_none_opens_the_problem(
    app: twores.Twores, store: Store, held: list[Assignment], tmp_path: Path
) -> None:
    sheet = _sheet(tmp_path / "v.csv", [(held[0], "无证经营；无其他问题")])
    assert import_visits(app, store, ADMIN, sheet, now=NOW).accepted
    assert [p.description for p in _problems(store)] == ["无证经营"]


def test_recording_a_visit_that_found_nothing_opens_no_problem(
    app: twores.Twores, store: Store, held: list[Assignment]
) -> None:
    a = held[0]
    [outcome] = record_visits(
        app,
        store,
        ADMIN,
        [VisitInput(a.business_key, a.cadre_id, DAY, findings=("未发现问题",))],
        now=NOW,
    )
    assert outcome.visit.findings == () and outcome.opened == ()
    assert _problems(store) == []


def test_a_finding_with_a_control_character_is_refused(
    app: twores.Twores, store: Store, held: list[Assignment]
) -> None:
    a = held[0]
    visit = VisitInput(a.business_key, a.cadre_id, DAY, findings=("过期食品\x08未下架",))
    with pytest.raises(InvalidValueError) as refused:
        record_visits(app, store, ADMIN, [visit], now=NOW)
    zh, en = refused.value.message_zh, refused.value.message_en
    assert zh.startswith("发现问题（findings）的值“过期食品\\x08未下架”无效：含控制字符 U+0008")
    assert "invalid findings value '过期食品\\x08未下架'" in en and "U+0008" in en
    assert _problems(store) == []
    with store.unit_of_work(ADMIN) as uow:
        assert list(uow.visits.stream()) == []


def test_a_word_soft_line_break_is_a_line_break(
    app: twores.Twores, store: Store, held: list[Assignment]
) -> None:
    a = held[0]
    visit = VisitInput(a.business_key, a.cadre_id, DAY, findings=("过期食品\x0b未下架",))
    [outcome] = record_visits(app, store, ADMIN, [visit], now=NOW)
    assert outcome.visit.findings == ("过期食品\n未下架",)
    assert [p.description for p in _problems(store)] == ["过期食品\n未下架"]


def test_a_sheet_cell_with_a_control_character_is_a_row_error(
    app: twores.Twores, store: Store, held: list[Assignment], tmp_path: Path
) -> None:
    sheet = _sheet(tmp_path / "v.csv", [(held[0], "无"), (held[1], "标签\x1f不全\x08")])
    report = import_visits(app, store, ADMIN, sheet, now=NOW)
    assert not report.accepted and report.inserted == 0
    [error] = report.errors
    assert (error.row, error.column) == (3, "发现问题")
    assert "\x08" in error.value or "\\x08" in error.value
    assert "U+0008" in error.reason_zh and "U+0008" in error.reason_en
    assert _problems(store) == []


def test_opening_a_problem_checks_its_description(
    app: twores.Twores, store: Store, held: list[Assignment]
) -> None:
    a = held[0]

    def open_one(text: str) -> list[twores.Problem]:
        new = NewProblem(a.business_key, text, "甲", DAY)
        return open_problems(app, store, ADMIN, [new], at=NOW)

    for bad, shown in (("标签\x1f不全", "标签\\x1f不全"), ("无问题", "无问题")):
        with pytest.raises(InvalidValueError) as refused:
            open_one(bad)
        assert refused.value.field == "description"
        assert f"“{shown}”" in refused.value.message_zh
        assert f"'{shown}'" in refused.value.message_en
    assert _problems(store) == []
    [opened] = open_one("过期食品\x0b第二行")
    assert opened.description == "过期食品\n第二行"


# --- through the command line -------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "twores_cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=False)


def test_visit_record_refuses_a_control_character_and_records_none_as_nothing(
    tmp_path: Path,
) -> None:
    import sqlite3

    db = str(tmp_path / "town.db")
    made = _cli("--db", db, "synth", "--businesses", "10", "--cadres", "5", "--area",
                "450323101", "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(db) as connection:
        business, cadre = connection.execute(
            "SELECT business_key, cadre_id FROM assignments LIMIT 1"
        ).fetchone()
    visit = ("visit", "record", business, cadre, "--date", "2025-07-02", "--late-reason", "补录")
    refused = _cli("--db", db, *visit, "--finding", "过期食品\b未下架", cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    zh, en = refused.stderr.strip().splitlines()[:2]
    assert "发现问题" in zh and "过期食品\\x08未下架" in zh and "U+0008" in zh
    assert "findings" in en and "U+0008" in en
    recorded = _cli("--db", db, "--format", "json", *visit, "--finding", "无", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["problems"] == []
