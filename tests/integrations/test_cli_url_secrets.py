"""A database password never reaches the output: not in ``user:password@``, not in a
``?password=`` (or ``sslpassword=``) query parameter, not in ``init``'s or ``synth``'s
report, not in the error of a database that cannot be opened."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from twores.services.setup import InitReport, SynthReport
from twores.services.stores import shown_url
from twores.testing.postgres import POSTGRES_URL, scratch_store
from twores_cli.commands import setup
from twores_cli.main import cli

SECRET = "S3cretPw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:S3cretPw@db:5432/twores", "postgresql://app:***@db:5432/twores"),
        ("postgresql://u@h/db?password=S3cretPw", "postgresql://u@h/db?password=***"),
        (
            "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=S3cretPw&application_name=t",
            "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=***&application_name=t",
        ),
        (
            "postgresql://u:p/S3cretPw?x@h/db?PASSWORD=S3cretPw",
            "postgresql://u:***@h/db?PASSWORD=***",
        ),
        ("postgresql://postgres@127.0.0.1/test", "postgresql://postgres@127.0.0.1/test"),
        ("sqlite:///twores.db", "sqlite:///twores.db"),
        ("sqlite:////tmp/数据/twores.db?mode=ro", "sqlite:////tmp/数据/twores.db?mode=ro"),
    ],
)
def test_shown_url_masks_every_password(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def _said(result: Any) -> str:
    return str(result.output) + (str(result.stderr) if result.stderr_bytes is not None else "")


def test_init_and_synth_print_the_url_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"postgresql+psycopg://owner:{SECRET}@db.example/twores?sslpassword={SECRET}"
    monkeypatch.setattr(setup, "init", lambda *a, **k: InitReport(url, 12))
    made = SynthReport(url, 12, 5, 2, 5, None)
    monkeypatch.setattr(setup, "synthesize", lambda *a, **k: made)
    runner = CliRunner()
    for command in (["init"], ["synth", "--businesses", "5", "--cadres", "2"]):
        for lang in ("zh", "en"):
            result = runner.invoke(cli, ["--lang", lang, "--db", url, *command])
            assert result.exit_code == 0, _said(result)
            assert SECRET not in _said(result)
            assert "owner:***@db.example/twores?sslpassword=***" in result.output


def test_a_database_that_cannot_be_opened_is_named_without_its_password() -> None:
    url = f"postgresql://nouser@127.0.0.1:1/none?password={SECRET}"
    result = CliRunner().invoke(cli, ["--db", url, "db", "upgrade"])
    assert result.exit_code == 1
    said = _said(result)
    assert SECRET not in said and "Traceback" not in said
    assert "无法打开数据库 postgresql://nouser@127.0.0.1:1/none?password=***" in said


def test_psycopgs_ignored_termination_warning_is_not_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import twores_cli.databases  # noqa: F401  (installs the filter)

    logger = logging.getLogger("psycopg")
    with caplog.at_level(logging.WARNING):
        logger.warning("error ignored terminating %r: %s", "<Pipeline [BAD]>", "lost")
        logger.warning("another psycopg warning")
    assert [r.getMessage() for r in caplog.records] == ["another psycopg warning"]


@pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set")
def test_on_postgresql_no_command_prints_the_password(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    with scratch_store(POSTGRES_URL) as store:  # a fresh schema: its URL names it
        base = sa.engine.make_url(store.url)
        in_user = base.set(password=SECRET).render_as_string(hide_password=False)
        in_query = base.update_query_dict({"password": SECRET}).render_as_string(
            hide_password=False
        )
        store.close()
        runner = CliRunner()
        runs = [
            ["--db", in_user, "init"],
            ["--db", in_user, "synth", "--businesses", "5", "--cadres", "2"],
            ["--db", in_user, "db", "upgrade"],
            ["--db", in_query, "db", "upgrade"],
            ["--db", in_query, "init"],
            ["--db", in_query, "synth", "--businesses", "5", "--cadres", "2"],
        ]
        for args in runs:
            result = runner.invoke(
                cli, [*args, "--out", str(tmp_path / "out")] if "synth" in args else args
            )
            said = _said(result)
            assert result.exit_code == 0, said
            assert SECRET not in said and "***" in said, said
