from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import twores

TWORES = [sys.executable, "-m", "twores_cli.main"]


def run(*args: str, cwd: Path, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [*TWORES, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_demo_grades_and_explains(tmp_path: Path) -> None:
    result = run("demo", "--businesses", "400", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "桂林市" in result.stdout
    assert "national.grade.table" in result.stdout
    assert "D级" in result.stdout


def test_demo_in_english(tmp_path: Path) -> None:
    result = run("--lang", "en", "demo", "--businesses", "50", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Decided by rule" in result.stdout


def test_plugins_lists_rule_versions(tmp_path: Path) -> None:
    result = run("plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "inner_mongolia 2023.1" in result.stdout and "national 2025.3" in result.stdout


def test_import_export_and_audit_through_the_cli(tmp_path: Path) -> None:
    import csv
    import sqlite3

    from twores.divisions import DEMO_REGION_FILE

    db = str(tmp_path / "twores.db")
    areas = Path(__file__).resolve().parents[2] / "src" / "twores" / "divisions" / "data"
    assert run("--db", db, "db", "upgrade", cwd=tmp_path).returncode == 0
    imported = run("--db", db, "import", "areas", str(areas / DEMO_REGION_FILE), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    cadres = tmp_path / "干部.csv"
    with cadres.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                ["包保干部姓名", "职务", "层级", "所属区划", "联系电话"],
                ["吴伟", "村委会主任", "村级", "450323101202", "18374074002"],
            ]
        )
    assert run("--db", db, "import", "cadres", str(cadres), cwd=tmp_path).returncode == 0
    ledger = tmp_path / "台账.csv"
    with ledger.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                [
                    "主体名称",
                    "许可证编号",
                    "所属区划",
                    "业态",
                    "包保等级",
                    "包保干部姓名",
                    "联系电话",
                ],
                [
                    "嵅村豆腐坊",
                    "SC14503231110603",
                    "450323101202",
                    "食品生产",
                    "D",
                    "吴伟",
                    "18374074002",
                ],
                ["坏店", "JY123", "450323101202", "食品销售", "E", "", ""],
            ]
        )
    rejected = run("--lang", "en", "--db", db, "import", "businesses", str(ledger), cwd=tmp_path)
    assert rejected.returncode == 3
    assert "rejected" in rejected.stderr and (tmp_path / "台账.errors.csv").exists()
    assert str(tmp_path / "台账.errors.csv") in rejected.stderr  # one line, however long
    connection = sqlite3.connect(db)
    assert connection.execute("SELECT count(*) FROM businesses").fetchone() == (0,)
    connection.close()
    ledger.write_text(
        ledger.read_text(encoding="utf-8").splitlines()[0]
        + "\n"
        + ledger.read_text(encoding="utf-8").splitlines()[1]
        + "\n",
        encoding="utf-8",
    )
    accepted = run("--db", db, "import", "businesses", str(ledger), cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    exported = run("--db", db, "export", "cadre-lists", str(tmp_path / "清单.xlsx"), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    unmasked = ("--db", db, "export", "cadres", str(tmp_path / "干部.csv"), "--unmask")
    refused = run(*unmasked, cwd=tmp_path)  # no role named: read-only
    assert refused.returncode == 2 and "--role office 或 --role admin" in refused.stderr
    assert run(*unmasked, "--role", "office", cwd=tmp_path).returncode == 0
    verified = run("--lang", "en", "--db", db, "audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0
    connection = sqlite3.connect(db)
    seq, head = connection.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC").fetchone()
    assert f"last #{seq} hash {head}" in verified.stdout  # the head, to keep elsewhere
    with connection:
        connection.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    connection.close()
    tampered = run("--lang", "en", "--db", db, "audit", "verify", cwd=tmp_path)
    assert tampered.returncode == 1 and "edited" in tampered.stderr


def test_a_scoped_import_cannot_write_outside_its_county(tmp_path: Path) -> None:
    import csv

    from twores.divisions import DEMO_REGION_FILE

    db = str(tmp_path / "twores.db")
    areas = Path(__file__).resolve().parents[2] / "src" / "twores" / "divisions" / "data"
    assert (
        run("--db", db, "import", "areas", str(areas / DEMO_REGION_FILE), cwd=tmp_path).returncode
        == 0
    )
    ledger = tmp_path / "台账.csv"
    with ledger.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(
            [
                ["主体名称", "许可证编号", "所属区划", "业态"],
                ["阳朔米粉店", "JY14503210000001", "450321100001", "餐饮服务"],
            ]
        )
    scoped = ("--db", db, "import", "businesses", str(ledger), "--role", "office", "--scope")
    refused = run("--lang", "en", *scoped, "450323", cwd=tmp_path)
    assert refused.returncode == 3  # refused whole, with a report beside the ledger
    assert "outside your jurisdiction (450323)" in refused.stdout + refused.stderr
    assert (tmp_path / "台账.errors.csv").exists()
    assert run(*scoped, "450321", cwd=tmp_path).returncode == 0


def test_schedule_and_visits_through_the_cli(tmp_path: Path) -> None:
    import json
    import sqlite3

    from twores.core.periods import Period, PeriodKind, today

    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "300", cwd=tmp_path).returncode == 0
    quarter = str(Period.containing(PeriodKind.QUARTER, today()))
    first = run("--db", db, "--format", "json", "schedule", quarter, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert counts["tasks"] == counts["inserted"] > 0
    again = json.loads(
        run("--db", db, "--format", "json", "schedule", quarter, cwd=tmp_path).stdout
    )
    assert again["unchanged"] == counts["tasks"] and again["inserted"] == again["updated"] == 0
    with sqlite3.connect(db) as connection:
        (business, cadre), (other, holder) = connection.execute(
            "SELECT business_key, cadre_id FROM assignments WHERE valid_to IS NULL "
            "ORDER BY cadre_id LIMIT 2"
        ).fetchall()
        stranger = connection.execute(
            "SELECT id FROM cadres WHERE id NOT IN (?, ?) LIMIT 1", (cadre, holder)
        ).fetchone()[0]
    day = today().isoformat()
    recorded = run(
        "--db",
        db,
        "visit",
        "record",
        business,
        cadre,
        "--date",
        day,
        "--answer",
        "M1=符合",
        "--finding",
        "未公示许可证",
        cwd=tmp_path,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert "完成任务" in recorded.stdout
    refused = run("--db", db, "visit", "record", business, stranger, "--date", day, cwd=tmp_path)
    assert refused.returncode == 1 and "未包保" in refused.stderr
    sheet = tmp_path / "督导.csv"
    sheet.write_text(
        f"许可证编号,干部编号,督导日期,督导方式\n{other},{stranger},{day},现场\n", encoding="utf-8"
    )
    rejected = run("--db", db, "visit", "import", str(sheet), cwd=tmp_path)
    assert rejected.returncode == 3 and (tmp_path / "督导.errors.csv").exists()
    reports = tmp_path / "reports"
    again = run(
        "--db", db, "visit", "import", str(sheet), "--report-dir", str(reports), cwd=tmp_path
    )
    assert again.returncode == 3 and (reports / "督导.errors.csv").exists()
    assert str(reports / "督导.errors.csv") in again.stderr


def test_duties_import_and_report_through_the_cli(tmp_path: Path) -> None:
    import json
    import sqlite3

    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "100", cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as connection:
        (key,) = connection.execute("SELECT key FROM businesses ORDER BY key LIMIT 1").fetchone()
    sheet = tmp_path / "记录.csv"
    sheet.write_text(
        "许可证编号,类型,日期,填报人角色,填报人,零风险\n"
        f"{key},日管控,2026-03-02,安全员,黄丽,是\n{key},月调度,2026-03-30,主要负责人,陈总,否\n",
        encoding="utf-8",
    )
    checked = run(
        "--db", db, "--lang", "en", "duties", "import", str(sheet), "--dry-run", cwd=tmp_path
    )
    assert checked.returncode == 0 and "nothing written" in checked.stdout
    imported = run("--db", db, "duties", "import", str(sheet), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "新增 2" in imported.stdout  # the dry run wrote nothing
    report = run(
        "--db",
        db,
        "--format",
        "json",
        "duties",
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        cwd=tmp_path,
    )
    assert report.returncode == 0, report.stderr
    mine = next(b for b in json.loads(report.stdout) if b["business_key"] == key)
    assert mine["daily"] == [1, 31] and mine["monthly"] == [1, 1]
    sheet.write_text(
        f"许可证编号,类型,日期,填报人角色,填报人\n{key},周排查,2026-03-02,主要负责人,陈总\n"
    )
    reports = tmp_path / "reports"
    refused = run(
        "--db", db, "duties", "import", str(sheet), "--report-dir", str(reports), cwd=tmp_path
    )
    assert refused.returncode == 3 and (reports / "记录.errors.csv").exists()
    assert not (tmp_path / "记录.errors.csv").exists()


def test_letters_through_the_cli(tmp_path: Path) -> None:
    import json
    import sqlite3

    from twores.core.periods import today

    day = today()  # the letter is generated today (China time); signed and checked then
    year, on = str(day.year), day.isoformat()
    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "60", cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as connection:
        (cadre,) = connection.execute(  # one whose letter of the year the demo left unsigned
            "SELECT a.cadre_id FROM assignments a WHERE a.valid_to IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM letters l WHERE l.cadre_id = a.cadre_id AND l.year = ? "
            "AND l.signed_on IS NOT NULL) LIMIT 1",
            (int(year),),
        ).fetchone()
    out = tmp_path / "承诺书"
    made = run(
        "--db",
        db,
        "letters",
        "generate",
        "--year",
        year,
        "--cadre",
        cadre,
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert len(list(out.glob("*.docx"))) == len(list(out.glob("*.xlsx"))) == 1
    signed = run(
        "--db",
        db,
        "letters",
        "sign",
        cadre,
        "--year",
        year,
        "--on",
        on,
        "--counterparty",
        "镇党委书记",
        cwd=tmp_path,
    )
    assert signed.returncode == 0, signed.stderr
    status = run(
        "--db",
        db,
        "--format",
        "json",
        "letters",
        "status",
        "--year",
        year,
        "--on",
        on,
        cwd=tmp_path,
    )
    states = {s["cadre_id"]: s["status"] for s in json.loads(status.stdout)}
    assert states[cadre] == "signed" and set(states.values()) >= {"signed"}


def test_problems_through_the_cli(tmp_path: Path) -> None:
    import json
    import sqlite3

    from twores.core.periods import today

    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "60", cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as connection:
        business, cadre = connection.execute(
            "SELECT business_key, cadre_id FROM assignments WHERE valid_to IS NULL LIMIT 1"
        ).fetchone()
    day = today().isoformat()
    found = run(
        "--db",
        db,
        "visit",
        "record",
        business,
        cadre,
        "--date",
        day,
        "--finding",
        "冷藏柜温度超标",
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    listed = json.loads(
        run(
            "--db",
            db,
            "--format",
            "json",
            "problems",
            "list",
            "--business",
            business,
            "--status",
            "rectifying",
            cwd=tmp_path,
        ).stdout
    )
    (problem,) = [p for p in listed if p["description"] == "冷藏柜温度超标"]
    assert problem["status"] == "rectifying" and problem["reporter"] == cadre
    photo = tmp_path / "整改照片.jpg"
    photo.write_bytes(b"jpeg")
    steps = [
        ("submit", "店主", ("--evidence", str(photo))),
        ("verify", "镇食安办", ("--evidence", str(photo))),
        ("close", "镇食安办", ()),
    ]
    for action, actor, extra in steps:
        moved = run(
            "--db",
            db,
            "problems",
            "transition",
            problem["id"],
            action,
            "--actor",
            actor,
            *extra,
            cwd=tmp_path,
        )
        assert moved.returncode == 0, moved.stderr
    illegal = run(
        "--db",
        db,
        "problems",
        "transition",
        problem["id"],
        "submit",
        "--actor",
        "店主",
        cwd=tmp_path,
    )
    assert illegal.returncode == 1 and "不能" in illegal.stderr
    shown = json.loads(
        run("--db", db, "--format", "json", "problems", "show", problem["id"], cwd=tmp_path).stdout
    )
    assert shown["status"] == "closed" and len(shown["history"]) == 4
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    assert digest in {d for e in shown["history"] for d in e["evidence"]}
    table = run("--db", db, "problems", "show", problem["id"], cwd=tmp_path).stdout
    assert f"证据 {digest}" in table  # to check the file kept against
    overdue = run("--db", db, "--format", "json", "problems", "overdue", cwd=tmp_path)
    assert overdue.returncode == 0
    assert problem["id"] not in {e["id"] for e in json.loads(overdue.stdout)}  # it is closed


def test_kpi_rank_and_bulletin_through_the_cli(tmp_path: Path) -> None:
    import json

    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "200", cwd=tmp_path).returncode == 0
    assert run("--db", db, "schedule", "2026Q1", "--on", "2026-01-05", cwd=tmp_path).returncode == 0
    shown = run(
        "--db",
        db,
        "--format",
        "json",
        "kpi",
        "2026Q1",
        "--area",
        "4503",
        "--on",
        "2026-03-31",
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    areas = json.loads(shown.stdout)["areas"]
    top, children = areas[0], areas[1:]
    assert top["area_code"] == "4503" and children
    assert top["task_completion"][1] == sum(c["task_completion"][1] for c in children) > 0
    kpi_args = ("--format", "json", "kpi", "2026Q1", "--area", "4503", "--on", "2026-03-31")
    recounted = run("--db", db, *kpi_args, "--recount", cwd=tmp_path)
    assert recounted.returncode == 0, recounted.stderr
    assert json.loads(recounted.stdout)["areas"] == areas  # raw rows agree with the summary
    ranked = run(
        "--db",
        db,
        "--format",
        "json",
        "rank",
        "2026Q1",
        "--parent",
        "4503",
        "--on",
        "2026-03-31",
        cwd=tmp_path,
    )
    assert ranked.returncode == 0, ranked.stderr
    assert next(a["rank"] for a in json.loads(ranked.stdout)["areas"]) == 1
    out = tmp_path / "通报"
    written = run(
        "--db",
        db,
        "bulletin",
        "2026Q1",
        "--parent",
        "4503",
        "--on",
        "2026-03-31",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert written.returncode == 0, written.stderr
    assert sorted(p.suffix for p in out.iterdir()) == [".docx", ".md", ".xlsx"]


def test_kpis_lists_what_each_counts(tmp_path: Path) -> None:
    import json

    result = run("--lang", "en", "--format", "json", "kpis", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    specs = {s["name"]: s for s in json.loads(result.stdout)}
    assert len(specs) == 11
    coverage = specs["coverage"]
    assert coverage["numerator"] == "businesses held by a cadre"
    assert coverage["direction"] == "higher" and coverage["definition"].startswith("Share of")
    assert specs["overdue_problems"]["direction"] == "lower"


def test_quality_through_the_cli(tmp_path: Path) -> None:
    import json

    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "400", cwd=tmp_path).returncode == 0
    quiet = run("--db", db, "--format", "json", "quality", "2027Q1", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout) == {
        "period": "2027Q1",
        "visits": 0,
        "by_area": {},
        "signals": [],
    }
    result = run("--db", db, "--format", "json", "quality", "2025Q4", cwd=tmp_path)
    found = json.loads(result.stdout)
    assert not [s for s in found["signals"] if s["kind"] == "same_text"], "stock wording"
    for kind in {s["kind"] for s in found["signals"]}:  # each counted in its visits' counties
        signals = [s for s in found["signals"] if s["kind"] == kind]
        counted = sum(counts.get(kind, 0) for counts in found["by_area"].values())
        assert len(signals) <= counted <= sum(len(s["visits"]) for s in signals)
    table = run("--db", db, "--lang", "en", "quality", "2025Q4", cwd=tmp_path)
    assert table.returncode == 0 and "signals" in table.stdout


def test_check_passes_after_the_demo_and_fails_on_a_broken_roster(tmp_path: Path) -> None:
    import json
    import sqlite3

    db = str(tmp_path / "twores.db")
    assert run("--db", db, "demo", "--businesses", "120", cwd=tmp_path).returncode == 0
    checked = run("--db", db, "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    planned = run("--db", db, "--format", "json", "assign", "--dry-run", cwd=tmp_path)
    assert planned.returncode == 0 and json.loads(planned.stdout)["dry_run"] is True
    with sqlite3.connect(db) as connection:  # break coverage behind the library's back
        connection.execute(
            "DELETE FROM assignments WHERE rowid IN (SELECT rowid FROM assignments LIMIT 1)"
        )
    broken = run("--db", db, "--format", "json", "check", cwd=tmp_path)
    assert broken.returncode == 1
    assert {v["kind"] for v in json.loads(broken.stdout)["violations"]} == {"coverage.missing"}
    fixed = run("--db", db, "assign", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert run("--db", db, "check", cwd=tmp_path).returncode == 0


def test_init_and_synth_through_the_cli(tmp_path: Path) -> None:
    import sqlite3

    db = str(tmp_path / "s.db")
    made = run(
        "--db",
        db,
        "synth",
        "--businesses",
        "300",
        "--cadres",
        "60",
        "--area",
        "450323",
        "--quarter",
        "--out",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM businesses").fetchone() == (300,)
        assert connection.execute("SELECT count(*) FROM visits").fetchone()[0] > 200
    assert run("--db", db, "check", cwd=tmp_path).returncode == 0
    fresh = str(tmp_path / "i.db")
    assert run("--db", fresh, "init", "--area", "450323", cwd=tmp_path).returncode == 0
    with sqlite3.connect(fresh) as connection:
        (areas,) = connection.execute("SELECT count(*) FROM areas").fetchone()
    assert areas > 100


def test_plugins_add_commands() -> None:
    import click
    import pytest

    import twores
    from twores.plugins import hookimpl
    from twores_cli import main as cli_main

    @click.command("region-report", help="某省报表")
    def region_report() -> None:
        click.echo("ok")

    class RegionCommands:
        @hookimpl
        def twores_cli_commands(self) -> list[click.Command]:
            return [region_report, click.Command("demo")]  # ours keep their names

    app = twores.build(load_entrypoints=False)
    app.plugins.register(RegionCommands())
    patch = pytest.MonkeyPatch()
    patch.setattr(twores, "build", lambda **_: app)
    try:
        cli_main.add_plugin_commands()
        assert cli_main.cli.commands["region-report"] is region_report
        assert cli_main.cli.commands["demo"].help and "桂林" in cli_main.cli.commands["demo"].help
    finally:
        cli_main.cli.commands.pop("region-report", None)
        patch.undo()


def test_region_narrows_the_plugin_commands_too() -> None:
    from twores_cli import main as cli_main

    assert cli_main.regions_named(["--db", "x.db", "plugins"]) is None
    assert cli_main.regions_named(["--region", "inner_mongolia", "--region=guangxi", "kpi"]) == (
        "inner_mongolia",
        "guangxi",
    )
    assert cli_main.regions_named(["import", "businesses", "--region", "x"]) is None  # not ours
    # only the named plugins are built, so only their commands are added
    calls: list[object] = []
    import twores

    real = twores.build
    try:
        twores.build = lambda **options: calls.append(options) or real(**options)  # type: ignore[assignment]
        cli_main.add_plugin_commands(("inner_mongolia",))
    finally:
        twores.build = real  # type: ignore[assignment]
    assert calls == [{"regions": ("inner_mongolia",)}]


def test_shell_completion(tmp_path: Path) -> None:
    env = {**os.environ, "_TWORES_COMPLETE": "bash_source"}
    script = subprocess.run(
        [*TWORES], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    ).stdout
    assert "_twores_completion" in script or "complete" in script
    env = {
        **os.environ,
        "_TWORES_COMPLETE": "bash_complete",
        "COMP_WORDS": "twores sch",
        "COMP_CWORD": "1",
    }
    words = subprocess.run(
        [*TWORES], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    ).stdout
    assert "schedule" in words


def test_every_command_runs_on_the_demo_database(tmp_path: Path) -> None:
    """The demo, then each command once on its database (each also has its own test)."""
    import sqlite3

    db = str(tmp_path / "twores.db")
    assert (
        run("--db", db, "demo", "--businesses", "300", "--cadres", "120", cwd=tmp_path).returncode
        == 0
    )
    with sqlite3.connect(db) as connection:
        business, cadre = connection.execute(
            "SELECT business_key, cadre_id FROM assignments WHERE valid_to IS NULL LIMIT 1"
        ).fetchone()
        (problem,) = connection.execute("SELECT key FROM problems LIMIT 1").fetchone() or ("",)
    sheet = tmp_path / "records.csv"
    sheet.write_text(
        f"许可证编号,类型,日期,填报人角色,填报人\n{business},日管控,2025-07-02,安全员,黄丽\n"
    )
    commands = [
        ["check"],
        ["assign", "--dry-run"],
        ["plugins"],
        ["db", "upgrade"],
        ["export", "businesses", str(tmp_path / "b.csv")],
        ["audit", "verify"],
        ["schedule", "2025Q3", "--on", "2025-07-01"],
        ["visit", "record", business, cadre, "--date", "2025-09-20", "--late-reason", "补录"],
        ["letters", "status", "--year", "2025", "--on", "2025-09-30"],
        ["duties", "import", str(sheet)],
        ["duties", "report", "--from", "2025-07-01", "--to", "2025-07-31", "--gaps-only"],
        ["problems", "list"],
        ["problems", "overdue", "--on", "2025-10-30"],
        ["kpi", "2025Q3", "--area", "4503"],
        ["rank", "2025Q3", "--parent", "4503"],
        ["bulletin", "2025Q3", "--parent", "4503", "--out", str(tmp_path / "b")],
        ["quality", "2025Q3"],
    ]
    if problem:
        commands.append(["problems", "show", problem])
    for command in commands:
        result = run("--db", db, *command, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stdout, result.stderr)

    def add_user(*user: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TWORES, "--db", db, "users", "add", *user, "--password-stdin"],
            input="a-long-enough-secret\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )

    added = add_user("lgx", "--name", "临桂区食安办", "--role", "office", "--area", "450312")
    assert added.returncode == 0, added.stderr
    refused = add_user("dwz", "--name", "大圩", "--role", "cadre", "--area", "450323101")
    assert refused.returncode == 3  # refused: said in Chinese, then in English
    assert "包保干部账号须指定干部编号" in refused.stderr
    assert "a cadre user needs a cadre id" in refused.stderr
    assert "lgx" in run("--db", db, "users", "list", cwd=tmp_path).stdout
    listed = json.loads(run("--db", db, "--format", "json", "users", "list", cwd=tmp_path).stdout)
    (mine,) = [u for u in listed if u["username"] == "lgx"]
    assert mine["active"] is True and mine["role"] in {r.value for r in twores.Role}
    _serves(db, tmp_path)
    assert run("--db", db, "check", cwd=tmp_path).returncode == 0


def _serves(db: str, cwd: Path) -> None:
    """``twores serve`` answers its sign-in page, then stops on SIGTERM."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = cwd / "serve.log"
    with (
        log.open("w") as errors,
        subprocess.Popen(
            [*TWORES, "--db", db, "serve", "--port", str(port)],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/login"
                    with urllib.request.urlopen(url, timeout=2) as page:
                        assert page.status == 200 and "登录" in page.read().decode()
                        break
                except OSError:
                    assert server.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "twores serve did not answer in 30 s"
                    time.sleep(0.2)
        finally:
            server.terminate()


def _small_county(tmp_path: Path) -> str:
    """A town's areas with 10 businesses and their cadres (about a second)."""
    db = str(tmp_path / "town.db")
    made = run("--db", db, "synth", "--businesses", "10", "--cadres", "5", "--area", "450323101",
               "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    return db


def test_tables_honour_csv_json_and_xlsx(tmp_path: Path) -> None:
    import csv
    import io
    import json
    import sqlite3

    from openpyxl import load_workbook

    db = _small_county(tmp_path)
    kpi = run("--db", db, "--format", "csv", "kpi", "2025Q3", "--area", "450323101", cwd=tmp_path)
    assert kpi.returncode == 0, kpi.stderr
    rows = list(csv.reader(io.StringIO(kpi.stdout)))
    assert rows[0][:3] == ["区域", "包保覆盖率", "督导任务完成率"] and rows[1][0] == "大圩镇"
    plugins = run("--format", "csv", "plugins", cwd=tmp_path)
    assert next(csv.reader(io.StringIO(plugins.stdout))) == ["插件", "规则集", "钩子", "指标"]
    described = json.loads(run("--format", "json", "plugins", cwd=tmp_path).stdout)
    assert "national" in {p["name"] for p in described}
    with sqlite3.connect(db) as connection:
        business, cadre = connection.execute(
            "SELECT business_key, cadre_id FROM assignments LIMIT 1"
        ).fetchone()
    visit = ("visit", "record", business, cadre, "--date", "2025-07-02", "--late-reason", "补录")
    recorded = run("--db", db, "--format", "json", *visit, cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["visit"].startswith(business)
    xlsx = subprocess.run([*TWORES, "--format", "xlsx", "kpis"], capture_output=True, cwd=tmp_path)
    assert xlsx.returncode == 0, xlsx.stderr
    sheet = load_workbook(io.BytesIO(xlsx.stdout)).active
    assert sheet is not None and sheet["A1"].value == "指标" and sheet.max_row == 12
    # commands whose outcome is no table: one JSON object, one CSV row, one sheet row
    verified = run("--db", db, "--format", "json", "audit", "verify", cwd=tmp_path)
    said = json.loads(verified.stdout)
    assert said["intact"] is True and said["entries"] > 0 and len(said["last_hash"]) == 64
    scheduled = run("--db", db, "--format", "csv", "schedule", "2025Q3", cwd=tmp_path)
    (header, values) = list(csv.reader(io.StringIO(scheduled.stdout)))
    assert header[:2] == ["period", "tasks"] and values[0] == "2025Q3" and int(values[1]) > 0
    sheet_of = subprocess.run(
        [*TWORES, "--db", db, "--format", "xlsx", "schedule", "2025Q3"],
        capture_output=True,
        cwd=tmp_path,
    )
    rows = list(load_workbook(io.BytesIO(sheet_of.stdout)).active.values)  # type: ignore[union-attr]
    assert rows[0][0] == "period" and rows[1][0] == "2025Q3"
    exported = tmp_path / "主体.csv"
    assert (
        run(
            "--db",
            db,
            "export",
            "businesses",
            str(exported),
            "--unmask",
            "--role",
            "admin",
            cwd=tmp_path,
        ).returncode
        == 0
    )
    checked = run(
        "--db",
        db,
        "--format",
        "json",
        "import",
        "businesses",
        str(exported),
        "--dry-run",
        cwd=tmp_path,
    )
    assert json.loads(checked.stdout)["dry_run"] is True, checked.stdout + checked.stderr


def test_xlsx_is_not_written_to_a_terminal(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    with subprocess.Popen(
        [*TWORES, "--format", "xlsx", "kpis"], stdout=follower, stderr=subprocess.PIPE, cwd=tmp_path
    ) as shown:
        os.close(follower)
        errors = shown.stderr.read().decode() if shown.stderr else ""
    os.close(leader)
    assert shown.returncode == 2 and "--format csv" in errors and "终端" in errors


def test_a_malformed_answer_names_the_option(tmp_path: Path) -> None:
    answer = ("visit", "record", "JY1", "C1", "--date", "2026-03-15", "--answer", "M1")
    shown = run(*answer, cwd=tmp_path)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert "选项 --answer 的值无效：“M1”应为“编号=结果”" in shown.stderr
    assert "Invalid value for '--answer': 'M1'" in shown.stderr


def test_bad_databases_are_named_not_traced(tmp_path: Path) -> None:
    (tmp_path / "ledger.csv").write_text("a,b\n", encoding="utf-8")
    cases = {
        "/nonexistent/dir/x.db": "没有数据库 /nonexistent/dir/x.db",
        str(tmp_path): "是一个文件夹",
        str(tmp_path / "ledger.csv"): "file is not a database",
        "postgresql://nouser@127.0.0.1:1/none": "无法打开数据库 postgresql://nouser@127.0.0.1:1/none",
        str(tmp_path / "missing.db"): "请先运行 twores init",
    }
    for db, message in cases.items():
        shown = run("--db", db, "check", cwd=tmp_path)
        assert shown.returncode == 1, (db, shown.stdout, shown.stderr)
        assert message in shown.stderr and "Traceback" not in shown.stderr, (db, shown.stderr)
    assert not (tmp_path / "missing.db").exists()
    english = run(
        "--lang", "en", "--db", str(tmp_path / "missing.db"), "kpi", "2026Q1", cwd=tmp_path
    )
    assert english.returncode == 1 and "no database" in english.stderr
    made = run("--db", "/nonexistent/dir/x.db", "init", cwd=tmp_path)
    assert made.returncode == 1 and "文件夹 /nonexistent/dir 不存在" in made.stderr


def test_a_file_that_cannot_be_written_is_named_not_traced(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    assert run("--db", db, "db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "ledger.csv").write_text("a,b\n", encoding="utf-8")
    cases = {
        str(tmp_path / "nowhere" / "b.csv"): f"所在文件夹 {tmp_path / 'nowhere'} 不存在",
        str(tmp_path / "ledger.csv" / "b.xlsx"): "中有一段不是文件夹",
    }
    for target, reason in cases.items():
        shown = run("--db", db, "export", "businesses", target, cwd=tmp_path)
        assert shown.returncode == 1, (target, shown.stdout, shown.stderr)
        assert "Traceback" not in shown.stderr and reason in shown.stderr, shown.stderr
        assert str(Path(target).parent) in shown.stderr
    bad = run("--db", db, "schedule", "2026Q5", cwd=tmp_path)
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 1 and len(lines) == 2 and "2026Q5" in lines[0] + lines[1]
    assert lines[0] != lines[1] and lines[1].isascii()  # Chinese first, then English
    nowhere = str(tmp_path / "nowhere" / "c.csv")
    english = run("--lang", "en", "--db", db, "export", "cadres", nowhere, cwd=tmp_path)
    assert english.returncode == 1 and "does not exist" in english.stderr


def test_db_upgrade_says_when_it_created_the_database(tmp_path: Path) -> None:
    db = str(tmp_path / "new.db")
    created = run("--db", db, "db", "upgrade", cwd=tmp_path)
    assert created.returncode == 0 and "已创建数据库并升级到最新结构" in created.stdout
    again = run("--lang", "en", "--db", db, "db", "upgrade", cwd=tmp_path)
    assert again.returncode == 0 and "database at the latest revision" in again.stdout


def test_serve_refuses_a_bad_or_busy_port(tmp_path: Path) -> None:
    import socket

    wrong = run("serve", "--port", "99999", cwd=tmp_path)
    assert wrong.returncode == 2 and "不在范围" in wrong.stderr and "Traceback" not in wrong.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run("serve", "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    assert busy.returncode == 1 and "端口已被占用" in busy.stderr, busy.stderr


def test_usage_errors_are_bilingual(tmp_path: Path) -> None:
    missing = run("import", "businesses", "nosuch.xlsx", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("错误：参数 FILE 的值无效：路径“nosuch.xlsx”不存在")
    assert "Path 'nosuch.xlsx' does not exist" in missing.stderr
    chosen = run("--format", "pdf", "kpis", cwd=tmp_path)
    assert chosen.returncode == 2 and "错误：选项 --format 的值无效" in chosen.stderr
    english = run("--lang", "en", "kpi", cwd=tmp_path)
    assert english.returncode == 2 and "错误" not in english.stderr
    assert "Missing argument 'PERIOD'" in english.stderr
    bare = run("db", cwd=tmp_path)  # a group without its command shows its help only
    assert "upgrade" in bare.stdout + bare.stderr and "错误" not in bare.stderr


def test_wide_tables_are_not_cut(tmp_path: Path) -> None:
    db = _small_county(tmp_path)
    piped = run("--db", db, "kpi", "2025Q3", "--area", "450323101", cwd=tmp_path, columns=80)
    assert piped.returncode == 0, piped.stderr
    assert "…" not in piped.stdout and "月调度落实率" in piped.stdout
    from rich.cells import cell_len

    assert len({cell_len(line) for line in piped.stdout.splitlines()}) == 1  # one line a row
    assert cell_len(piped.stdout.splitlines()[0]) > 80


def test_a_wide_table_is_split_on_a_narrow_terminal() -> None:
    import io

    from rich.console import Console
    from rich.table import Table

    from twores_cli.output import show

    table = Table("区域", *(f"督导任务完成率{i}" for i in range(8)))
    table.add_row("大境瑶族乡", *("100.0%" for _ in range(8)))
    screen = io.StringIO()
    show(Console(file=screen, width=80, force_terminal=True, color_system=None), table, "table")
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in screen.getvalue()
    assert all(f"督导任务完成率{i}" in screen.getvalue() for i in range(8))
    assert screen.getvalue().count("大境瑶族乡") > 1  # each part repeats the first column


def test_a_region_that_is_not_installed_is_named(tmp_path: Path) -> None:
    typo = run("--region", "inner_mongolai", "plugins", cwd=tmp_path)
    assert typo.returncode == 1 and "inner_mongolai" in typo.stderr
    assert "未安装" in typo.stderr
    chosen = run("--region", "inner_mongolia", "plugins", cwd=tmp_path)
    assert chosen.returncode == 0 and "inner_mongolia" in chosen.stdout


def test_overdue_steps_are_never_dated_ahead(tmp_path: Path) -> None:
    ahead = (date.today() + timedelta(days=3)).isoformat()
    refused = run("problems", "overdue", "--on", ahead, cwd=tmp_path)
    assert refused.returncode == 1 and "不能晚于今天" in refused.stderr
