"""A value or row the database refuses (sqlalchemy DataError, IntegrityError) reaches the CLI
as a short bilingual error, exit code 1, never a traceback echoing the statement's
parameters (they can hold unmasked phone and ID numbers)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from click.testing import CliRunner

from twores_cli import databases
from twores_cli.commands import imports
from twores_cli.main import cli

POSTGRES_URL = os.environ.get("TWORES_TEST_POSTGRES_URL")
PHONE, ID_NUMBER = "13800138000", "45032319900101123X"


class DriverError(Exception):
    """A DB-API error as a driver raises it: its text echoes the value."""

    sqlstate = "22001"


def _raising(error: Exception) -> Any:
    def import_file(*args: object, **kwargs: object) -> object:
        raise error

    return import_file


def _invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception) -> Any:
    monkeypatch.setattr(imports, "import_file", _raising(error))
    ledger = tmp_path / "干部.csv"
    ledger.write_text("包保干部姓名,联系电话\n吴伟,13800138000\n", encoding="utf-8")
    db = str(tmp_path / "twores.db")
    runner = CliRunner()
    upgraded = runner.invoke(cli, ["--db", db, "db", "upgrade"], prog_name="twores")
    assert upgraded.exit_code == 0, upgraded.output
    return runner.invoke(cli, ["--db", db, "import", "cadres", str(ledger)], prog_name="twores")


def _statement_error(kind: type[sa.exc.DBAPIError]) -> sa.exc.DBAPIError:
    orig = DriverError(f"value too long for type character varying(32): {PHONE}")
    return kind(
        "INSERT INTO cadres (name, phone, id_number) VALUES (?, ?, ?)",
        ("吴伟", PHONE, ID_NUMBER),
        orig,
    )


@pytest.mark.parametrize(
    ("kind", "zh"),
    [(sa.exc.DataError, "超出数据库的限制"), (sa.exc.IntegrityError, "违反数据库的约束")],
)
def test_a_refused_write_is_a_bilingual_error_without_the_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: type[sa.exc.DBAPIError], zh: str
) -> None:
    result = _invoke(tmp_path, monkeypatch, _statement_error(kind))
    assert result.exit_code == 1
    assert not isinstance(result.exception, sa.exc.DBAPIError)  # handled, no traceback
    output = result.output
    assert "Traceback" not in output
    assert zh in output and "refused to store" in output
    assert output.index("拒绝保存") < output.index("refused to store")  # Chinese first
    assert "SQLSTATE 22001" in output
    for secret in (PHONE, ID_NUMBER, "INSERT", "VALUES", "character varying"):
        assert secret not in output


def test_a_refused_write_in_english_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "import_file", _raising(_statement_error(sa.exc.DataError)))
    ledger = tmp_path / "干部.csv"
    ledger.write_text("包保干部姓名\n吴伟\n", encoding="utf-8")
    db = str(tmp_path / "twores.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["--lang", "en", "--db", db, "import", "cadres", str(ledger)])
    assert result.exit_code == 1
    assert "refused to store" in result.output and "拒绝" not in result.output
    assert PHONE not in result.output


def test_other_errors_are_still_not_database_errors() -> None:
    assert databases.as_error(ValueError("x"), None) is None


@pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set")
def test_a_real_postgresql_data_error_is_shown_without_the_value() -> None:
    from twores.plugins.sqlalchemy.backend import normalise_url

    assert POSTGRES_URL is not None
    engine = sa.create_engine(normalise_url(POSTGRES_URL))
    caught: list[Exception] = []
    try:
        with engine.connect() as connection:
            for value in (PHONE, f"{PHONE}\x00"):  # too long (22001); a NUL
                connection.exec_driver_sql("CREATE TEMP TABLE short (v VARCHAR(5))")
                try:
                    connection.execute(sa.text("INSERT INTO short VALUES (:v)"), {"v": value})
                except sqlalchemy.exc.DataError as error:
                    caught.append(error)
                connection.rollback()
    finally:
        engine.dispose()
    assert len(caught) == 2
    for error in caught:
        assert PHONE in str(error)  # what the traceback showed
        shown = databases.as_error(error, POSTGRES_URL)
        assert shown is not None
        assert "拒绝保存" in shown.message_zh and "refused to store" in shown.message_en
        assert PHONE not in shown.message_zh + shown.message_en
