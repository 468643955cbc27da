"""The CLI defects of the rev4 review (a county's year): refused imports say their headline
in both languages and give --format json an object, the demo says when it raised
--cadres, an unknown --region is said once, and the import summaries name the problems
their findings opened."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from twores.core.periods import today
from twores_cli.main import cli


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="twores")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.db"
    made = _run(
        "--db", str(db), "demo", "--businesses", "60", "--no-cycle", "--out", str(folder / "o")
    )
    assert made.exit_code == 0, made.output
    return db


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> str:
    copy = tmp_path / "twores.db"
    shutil.copy(demo_db, copy)
    return str(copy)


@pytest.fixture
def county(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    assert _run("--db", url, "init", "--area", "450300").exit_code == 0
    return url


def _bad_ledger(tmp_path: Path) -> Path:
    ledger = tmp_path / "台账.csv"
    ledger.write_text(
        "主体名称,许可证编号,所属区划,业态\n阳朔米粉店,JY14503210000001,999999999999,餐饮服务\n",
        encoding="utf-8",
    )
    return ledger


def _pair(db: str) -> tuple[str, str]:
    with sqlite3.connect(db) as connection:
        business, cadre = connection.execute(
            "SELECT business_key, cadre_id FROM assignments WHERE valid_to IS NULL "
            "ORDER BY business_key LIMIT 1"
        ).fetchone()
    return str(business), str(cadre)


# 4. the headline of a refused import, and the columns-not-imported note, in both languages


def test_a_refused_imports_headline_is_chinese_then_english(county: str, tmp_path: Path) -> None:
    ledger = _bad_ledger(tmp_path)
    result = _run("--db", county, "import", "businesses", str(ledger))
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    headline = next(i for i, line in enumerate(lines) if line.startswith("拒绝导入：1 处错误"))
    assert lines[headline + 1].startswith("rejected: 1 error(s), nothing changed. Report: ")
    assert str(tmp_path / "台账.errors.csv") in lines[headline + 1]


def test_a_refused_imports_headline_is_english_only_with_lang_en(
    county: str, tmp_path: Path
) -> None:
    ledger = _bad_ledger(tmp_path)
    result = _run("--lang", "en", "--db", county, "import", "businesses", str(ledger))
    assert result.exit_code == 3
    assert "rejected: 1 error(s), nothing changed. Report: " in result.stderr
    assert "拒绝导入" not in result.stderr


def test_the_columns_not_imported_note_is_chinese_then_english(county: str, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"  # no header: its first row is read as one
    pairs.write_text("JY14503230357399,450323104211-a4801928\n", encoding="utf-8")
    result = _run("--db", county, "import", "businesses", str(pairs))
    lines = result.stderr.splitlines()
    note = next(i for i, line in enumerate(lines) if line.startswith("以下列未导入"))
    assert lines[note + 1].startswith("columns not imported (not headers twores reads")
    assert "JY14503230357399" in lines[note + 1]
    english = _run("--lang", "en", "--db", county, "import", "businesses", str(pairs))
    assert "columns not imported" in english.stderr and "以下列未导入" not in english.stderr


def test_refused_visit_and_duties_imports_say_the_headline_in_both(db: str, tmp_path: Path) -> None:
    sheet = tmp_path / "督导.csv"
    sheet.write_text(
        f"许可证编号,干部编号,督导日期,督导方式\nJY19999999999999,nobody,{today()},现场\n",
        encoding="utf-8",
    )
    visits = _run("--db", db, "visit", "import", str(sheet))
    assert visits.exit_code == 3
    assert "拒绝导入：" in visits.stderr and "rejected: " in visits.stderr
    records = tmp_path / "记录.csv"
    records.write_text(
        "许可证编号,类型,日期,填报人角色,填报人\nJY19999999999999,日管控,2026-03-02,安全员,黄丽\n",
        encoding="utf-8",
    )
    duties = _run("--db", db, "duties", "import", str(records))
    assert duties.exit_code == 3
    assert "拒绝导入：" in duties.stderr and "rejected: " in duties.stderr


# 5. --format json on a refused import: one object on stdout, the messages still on stderr


def test_a_refused_import_gives_json_an_object(county: str, tmp_path: Path) -> None:
    ledger = _bad_ledger(tmp_path)
    result = _run("--db", county, "--format", "json", "import", "businesses", str(ledger))
    assert result.exit_code == 3
    refused = json.loads(result.stdout)
    assert refused["kind"] == "businesses" and refused["file"] == str(ledger)
    assert refused["accepted"] is False
    assert refused["report"] == str(tmp_path / "台账.errors.csv")
    (error,) = refused["errors"]
    assert error["row"] == 2 and error["column"] == "所属区划"
    assert error["value"] == "999999999999"
    assert error["code"] and error["zh"] and error["en"]
    assert {"row", "serial", "column", "value", "code", "zh", "en"} == set(error)
    assert "拒绝导入：1 处错误" in result.stderr


def test_refused_visit_and_duties_imports_give_json_an_object(db: str, tmp_path: Path) -> None:
    business, _ = _pair(db)
    sheet = tmp_path / "督导.csv"
    sheet.write_text(
        f"许可证编号,干部编号,督导日期,督导方式\n{business},nobody,{today()},现场\n",
        encoding="utf-8",
    )
    visits = _run("--db", db, "--format", "json", "visit", "import", str(sheet))
    assert visits.exit_code == 3
    refused = json.loads(visits.stdout)
    assert refused["kind"] == "visits" and refused["accepted"] is False
    assert refused["errors"] and refused["errors"][0]["row"] == 2
    records = tmp_path / "记录.csv"
    records.write_text(
        f"许可证编号,类型,日期,填报人角色,填报人\n{business},周排查,2026-03-02,主要负责人,陈总\n",
        encoding="utf-8",
    )
    duties = _run("--db", db, "--format", "json", "duties", "import", str(records))
    assert duties.exit_code == 3
    refused = json.loads(duties.stdout)
    assert refused["kind"] == "duties" and refused["errors"]
    assert refused["report"] == str(tmp_path / "记录.errors.csv")


# 9. demo --cadres below one per area: raised, and said


def test_demo_says_when_it_raised_the_cadres(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    args = ["demo", "--businesses", "20", "--cadres", "800", "--no-cycle", "--out", "o"]
    result = _run("--db", db, *args)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM cadres").fetchone()
    assert stored > 800
    assert f"已按 {stored} 名生成" in result.output
    assert f"so {stored} were made" in result.output
    english = _run("--lang", "en", "--db", db, *args)
    assert f"so {stored} were made" in english.output and "已按" not in english.output
    help_text = _run("demo", "-h").output
    assert f"at least one per area ({stored:,} in 桂林市)" in " ".join(help_text.split())


def test_demo_says_nothing_when_the_cadres_suffice(tmp_path: Path) -> None:
    result = _run(
        "--db", str(tmp_path / "d.db"), "demo", "--businesses", "20", "--no-cycle", "--out", "o"
    )
    assert result.exit_code == 0, result.output
    assert "were made" not in result.output


# 10. an unknown --region: said once, in the chosen language(s)


def _main(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed entry point: plugins load (and fail) before the command line is read."""
    return subprocess.run(
        [sys.executable, "-m", "twores_cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_an_unknown_region_is_said_once_in_english(db: str, tmp_path: Path) -> None:
    result = _main("--lang", "en", "--region", "bogus", "--db", db, "kpis", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "plugin(s) not installed: bogus (installed: inner_mongolia)"
    ]


def test_an_unknown_region_is_said_once_in_chinese_then_english(db: str, tmp_path: Path) -> None:
    result = _main("--region", "bogus", "--db", db, "kpis", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "未安装的插件：bogus（已安装：inner_mongolia）",
        "plugin(s) not installed: bogus (installed: inner_mongolia)",
    ]


def test_a_command_that_needs_no_rules_still_says_the_unknown_region(tmp_path: Path) -> None:
    result = _main("--lang", "en", "--region", "bogus", "demo", "-h", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "plugin(s) not installed: bogus (installed: inner_mongolia)"
    ]


# 12. visit import and duties import name the problems their findings opened


def _problems(db: str) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute("SELECT key FROM problems")}


def test_visit_import_reports_the_problems_it_opened(
    db: str, demo_db: Path, tmp_path: Path
) -> None:
    business, cadre = _pair(db)
    sheet = tmp_path / "督导.csv"
    sheet.write_text(
        "许可证编号,干部编号,督导日期,督导方式,发现问题\n"
        f"{business},{cadre},{today()},现场,未公示许可证；过期原料\n",
        encoding="utf-8",
    )
    checked = _run("--db", db, "--format", "json", "visit", "import", str(sheet), "--dry-run")
    assert checked.exit_code == 0, checked.output
    assert len(json.loads(checked.stdout)["problems"]) == 2
    assert _problems(db) == set()
    result = _run("--db", db, "--format", "json", "visit", "import", str(sheet))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert len(summary["problems"]) == 2 and set(summary["problems"]) == _problems(db)
    again = _run("--db", db, "visit", "import", str(sheet))  # recorded before: none opened
    assert again.exit_code == 0 and "登记问题" not in again.stdout
    fresh = str(tmp_path / "fresh.db")
    shutil.copy(demo_db, fresh)
    text = _run("--db", fresh, "visit", "import", str(sheet))
    assert text.exit_code == 0, text.output
    assert "登记问题 2 个：" in text.stdout
    assert all(i in text.stdout for i in summary["problems"])


def test_duties_import_reports_the_problems_it_opened(
    db: str, demo_db: Path, tmp_path: Path
) -> None:
    business, _ = _pair(db)
    sheet = tmp_path / "记录.csv"
    sheet.write_text(
        "许可证编号,类型,日期,填报人角色,填报人,零风险,发现问题\n"
        f"{business},周排查,2026-03-02,食品安全员,黄丽,否,冷库温度记录缺失\n",
        encoding="utf-8",
    )
    result = _run("--db", db, "--format", "json", "duties", "import", str(sheet))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["inserted"] == 1
    (problem,) = summary["problems"]
    assert _problems(db) == {problem}
    fresh = str(tmp_path / "fresh.db")
    shutil.copy(demo_db, fresh)
    text = _run("--lang", "en", "--db", fresh, "duties", "import", str(sheet))
    assert text.exit_code == 0, text.output
    assert f"opened 1 problems: {problem}" in text.stdout


def test_an_import_says_which_totals_rows_it_skipped(county: str, tmp_path: Path) -> None:
    ledger = tmp_path / "合计.csv"
    ledger.write_text(
        "序号,主体名称,许可证编号,所属区划,业态\n"
        "1,阳朔米粉店,JY14503210000001,450321,餐饮服务\n"
        "合计,1户,,,\n",
        encoding="utf-8",
    )
    said = _run("--db", county, "import", "businesses", str(ledger))
    assert said.exit_code == 0, said.output
    assert "已跳过 1 个合计行" in said.output and "第 3 行" in said.output
    shown = _run("--db", county, "--format", "json", "import", "businesses", str(ledger))
    assert json.loads(shown.stdout)["totals_rows"] == [3]
