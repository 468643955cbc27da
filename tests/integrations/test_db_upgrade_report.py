"""``twores db upgrade`` says what it did (created, upgraded from → to, nothing to do);
another command that opens an outdated database migrates it and says so on stderr; two
processes opening an outdated SQLite database at once both succeed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from twores.plugins.sqlalchemy.backend import SqlStore, normalise_url
from twores.testing.postgres import POSTGRES_URL

TWORES = [sys.executable, "-m", "twores_cli.main"]
HEAD = "0024"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.run(
        [*TWORES, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def _old(url: str, revision: str) -> None:
    store = SqlStore(url, migrate=False)
    try:
        store.upgrade(revision)
    finally:
        store.close()


def _revision(url: str) -> str | None:
    store = SqlStore(url, migrate=False)
    try:
        return store.revision()
    finally:
        store.close()


def test_db_upgrade_says_created_upgraded_or_nothing_to_do(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _old(f"sqlite:///{db}", "0005")
    upgraded = run("--db", str(db), "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"从 0005 升级到 {HEAD}" in upgraded.stdout
    assert "自动升级" not in upgraded.stderr + upgraded.stdout  # said once, by the command
    assert _revision(f"sqlite:///{db}") == HEAD
    again = run("--lang", "en", "--db", str(db), "db", "upgrade", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"database at the latest revision {HEAD} already, nothing to upgrade" in again.stdout
    assert "upgraded" not in again.stdout
    _old(f"sqlite:///{tmp_path / 'old2.db'}", "0010")
    english = run("--lang", "en", "--db", str(tmp_path / "old2.db"), "db", "upgrade", cwd=tmp_path)
    assert f"upgraded the database from 0010 to {HEAD}" in english.stdout
    new = run("--lang", "en", "--db", str(tmp_path / "new.db"), "db", "upgrade", cwd=tmp_path)
    assert f"created the database at the latest revision {HEAD}" in new.stdout


def test_another_command_upgrading_an_old_database_says_so(tmp_path: Path) -> None:
    db = tmp_path / "archived.db"
    _old(f"sqlite:///{db}", "0005")
    verified = run("--db", str(db), "audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert f"从 0005 升级到 {HEAD}" in verified.stderr
    assert f"upgraded its schema from 0005 to {HEAD}" in verified.stderr
    again = run("--db", str(db), "audit", "verify", cwd=tmp_path)
    assert again.returncode == 0 and "升级" not in again.stderr  # at head: nothing said


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("TWORES_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    schema = f"u_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def test_db_upgrade_reports_on_postgres(postgres_schema_url: str, tmp_path: Path) -> None:
    url = postgres_schema_url
    new = run("--lang", "en", "--db", url, "db", "upgrade", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert f"created the database at the latest revision {HEAD}" in new.stdout  # an empty one
    store = SqlStore(url, migrate=False)
    try:
        with store.engine.begin() as connection:
            from alembic import command

            command.downgrade(store.alembic_config(connection), "0020")
    finally:
        store.close()
    upgraded = run("--db", url, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"从 0020 升级到 {HEAD}" in upgraded.stdout
    again = run("--lang", "en", "--db", url, "db", "upgrade", cwd=tmp_path)
    assert f"at the latest revision {HEAD} already" in again.stdout


_OPEN = """
import sys, time
from pathlib import Path
from twores.plugins.sqlalchemy.backend import SqlStore
Path(sys.argv[3]).touch()
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
SqlStore(sys.argv[1]).close()
"""


def test_two_processes_opening_an_old_sqlite_database_at_once_both_succeed(
    tmp_path: Path,
) -> None:
    """The second waits for the first's migration (``BEGIN IMMEDIATE``), then finds the
    schema current; a deferred ``BEGIN`` made one of them fail with "database is locked"."""
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'old{attempt}.db'}"
        _old(url, "0010")
        go = tmp_path / f"go{attempt}"
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN, url, str(go), str(tmp_path / f"ready{attempt}.{n}")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for n in range(3)
        ]
        while len(list(tmp_path.glob(f"ready{attempt}.*"))) < len(openers):  # all imported
            assert all(opener.poll() is None for opener in openers)
            time.sleep(0.01)
        go.touch()
        results = [opener.communicate(timeout=120) for opener in openers]
        for opener, (_, err) in zip(openers, results, strict=True):
            assert opener.returncode == 0, err
        said = [err for _, err in results if "0010" in err]
        assert len(said) == 1  # one process migrated; the others found it done
        assert _revision(url) == HEAD
