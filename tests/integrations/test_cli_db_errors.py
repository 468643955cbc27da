"""How the CLI reports a database driver's failures."""

from __future__ import annotations

import pytest
import sqlalchemy.exc

from twores_cli.databases import as_error

psycopg = pytest.importorskip("psycopg")


def test_a_write_conflict_says_nothing_changed_and_to_try_again() -> None:
    orig = psycopg.errors.SerializationFailure("could not serialize access")
    error = as_error(sqlalchemy.exc.OperationalError("UPDATE …", {}, orig), "postgresql://x/db")
    assert error is not None
    assert "请重试" in error.message_zh and "try again" in error.message_en
    assert "无法使用数据库" not in error.message_zh


def test_an_unreachable_database_is_still_reported_as_unusable() -> None:
    orig = psycopg.OperationalError("connection refused")
    error = as_error(sqlalchemy.exc.OperationalError("SELECT 1", {}, orig), "postgresql://x/db")
    assert error is not None
    assert "无法使用数据库" in error.message_zh and "connection refused" in error.message_en
