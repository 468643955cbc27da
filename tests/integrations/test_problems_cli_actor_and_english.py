"""``problems overdue`` records who ran it (--actor), not the letters' signature, in the
audit log; English ``problems show`` has no Chinese punctuation; the built-in notifier's
line is in Chinese and English."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import docx
import pytest

import twores
from twores.core.problems import Action, ProblemEvent, ProblemStatus, Severity
from twores.plugins.builtin import log_events
from twores.services.problems import NewProblem, open_problems
from twores.services.stores import open_store

TWORES = [sys.executable, "-m", "twores_cli.main"]
FULL_WIDTH = "（），：；"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*TWORES, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def _audited_after(db: str, seq: int) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT actor, entity FROM audit_log WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()


def _last_seq(db: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT max(seq) FROM audit_log").fetchone()[0])


@pytest.fixture(scope="module")
def overdue_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, list[str]]:
    """A demo database with two major problems found 60 and 30 days ago (7-day deadlines),
    both overdue today."""
    folder = tmp_path_factory.mktemp("overdue")
    db = str(folder / "twores.db")
    made = run("--db", db, "demo", "--businesses", "60", cwd=folder)
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(db) as connection:
        keys = [
            row[0]
            for row in connection.execute(
                "SELECT business_key FROM assignments WHERE valid_to IS NULL LIMIT 2"
            )
        ]
    app = twores.build()
    store = open_store(app, f"sqlite:///{db}")
    ids = []
    for key, back in zip(keys, (60, 30), strict=True):
        found = twores.today() - timedelta(days=back)
        (problem,) = open_problems(
            app,
            store,
            twores.Scope.system("test setup"),
            [
                NewProblem(
                    key,
                    "未落实进货查验",
                    "交叉检查组",
                    found,
                    twores.ProblemSource.CROSS_INSPECTION,
                    Severity.MAJOR,
                )
            ],
            at=datetime(found.year, found.month, found.day, 2, tzinfo=UTC),
        )
        ids.append(problem.id)
    store.close()
    return db, folder, ids


def test_overdue_records_who_ran_it_and_signs_letters_with_the_issuer(
    overdue_db: tuple[str, Path, list[str]],
) -> None:
    db, folder, _ = overdue_db
    before = _last_seq(db)
    day = (twores.today() - timedelta(days=40)).isoformat()  # only the first is overdue
    letters = folder / "提醒函"
    reminded = run(
        "--db",
        db,
        "problems",
        "overdue",
        "--on",
        day,
        "--actor",
        "张三",
        "--issuer",
        "灵川县食安办",
        "--letters",
        str(letters),
        cwd=folder,
    )
    assert reminded.returncode == 0, reminded.stderr
    audited = _audited_after(db, before)
    assert audited and {actor for actor, _ in audited} == {"张三"}, audited
    written = sorted(letters.glob("*.docx"))
    assert written
    for letter in written:  # --issuer is the letters' signature
        text = "\n".join(p.text for p in docx.Document(str(letter)).paragraphs)
        assert "灵川县食安办" in text
    with sqlite3.connect(db) as connection:  # and the step is taken by who ran it
        (history,) = connection.execute(
            "SELECT history FROM problems WHERE key = ?", (overdue_db[2][0],)
        ).fetchone()
    assert "张三" in history and "灵川县食安办" not in history, history

    before = _last_seq(db)
    again = run("--db", db, "problems", "overdue", cwd=folder)  # no --actor: "cli"
    assert again.returncode == 0, again.stderr
    audited = _audited_after(db, before)
    assert audited and {actor for actor, _ in audited} == {"cli"}, audited
    assert "食品安全委员会办公室" not in {actor for actor, _ in audited}


def test_overdue_help_names_actor() -> None:
    shown = run("problems", "overdue", "--help", cwd=Path.cwd())
    assert "--actor" in shown.stdout and "[default: cli]" in shown.stdout


def test_english_show_has_no_chinese_punctuation(
    overdue_db: tuple[str, Path, list[str]],
) -> None:
    db, folder, (first, _second) = overdue_db
    english = run("--db", db, "--lang", "en", "problems", "show", first, cwd=folder)
    assert english.returncode == 0, english.stderr
    lines = english.stdout.splitlines()
    assert "未落实进货查验 (major, cross-inspection) → " in lines[0]
    noted = [line for line in lines[1:] if ": " in line]
    assert noted  # the escalation steps carry notes, shown after ": "
    for line in lines:  # the description and the notes are data (Chinese); the rest is not
        text = line.split(": ", 1)[0].replace("未落实进货查验", "")
        assert not any(mark in text for mark in FULL_WIDTH), line
    chinese = run("--db", db, "problems", "show", first, cwd=folder).stdout
    assert "未落实进货查验（较重，交叉检查）→" in chinese and "：" in chinese


def test_the_notifier_line_is_in_chinese_and_english(caplog: pytest.LogCaptureFixture) -> None:
    event = ProblemEvent(
        "JY14503233281361/2026-12-02/65786d0a",
        2,
        Action.SUBMIT,
        ProblemStatus.SUBMITTED,
        "C450323101-001",
        datetime(2026, 12, 4, tzinfo=UTC),
        deadline=date(2026, 12, 19),
    )
    with caplog.at_level(logging.INFO, logger="twores.events"):
        log_events.twores_on_event(event, ("45", "4503", "450323", "450323101"))
    (line,) = [r.getMessage() for r in caplog.records if r.name == "twores.events"]
    assert "提交整改" in line and "submit the fix" in line
    assert ProblemStatus.SUBMITTED.zh in line and ProblemStatus.SUBMITTED.en in line
    assert "期限" in line and "deadline 2026-12-19" in line
    assert "C450323101-001" in line and "450323101" in line
