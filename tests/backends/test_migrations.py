"""Migrations 0021 and 0022: the scope policies by tier, and the repair of databases that
ran 0016 or 0017 as they stood before those released migrations were edited; 0024: the
audit log compressed with LZ4 on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from tests.backends.conftest import catering_business

import twores
from twores.core.errors import SchemaNewerError, SchemaOutdatedError, SchemaVersionError
from twores.divisions import demo_region
from twores.plugins.sqlalchemy import rls
from twores.plugins.sqlalchemy.backend import SqlStore, normalise_url

HEAD = "0024"


def _alembic(store: SqlStore, action: str, revision: str) -> None:
    with store.engine.begin() as connection:
        getattr(command, action)(store.alembic_config(connection), revision)


def _task_index(store: SqlStore) -> list[dict[str, object]]:
    with store.engine.connect() as connection:
        found = sa.inspect(connection).get_indexes("supervision_tasks")
    return [i for i in found if i["name"] == "ix_tasks_business"]  # type: ignore[misc]


def _drift_task_index(store: SqlStore) -> None:
    """The index as 0016 built it at commit 8f57183."""
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_tasks_business")
        connection.exec_driver_sql(
            "CREATE INDEX ix_tasks_business ON supervision_tasks (business_key, key)"
        )


def _assert_head_index(store: SqlStore) -> None:
    [index] = _task_index(store)
    assert index["column_names"] == ["business_key"] and not index["unique"]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'twores.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[SqlStore]:
    store = SqlStore(postgres_url)
    try:
        yield store
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_drifted_task_index_is_rebuilt_and_a_right_one_kept(
    backend: str, request: pytest.FixtureRequest
) -> None:
    store: SqlStore = request.getfixturevalue(f"{backend}_store")
    assert store.revision() == HEAD
    _assert_head_index(store)
    _drift_task_index(store)
    _alembic(store, "stamp", "0021")
    store.upgrade()
    assert store.revision() == HEAD
    _assert_head_index(store)
    with store.engine.connect() as connection:  # no-op when already right: same index
        before = connection.exec_driver_sql(_index_sql(store)).scalar()
    _alembic(store, "stamp", "0021")
    store.upgrade()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql(_index_sql(store)).scalar() == before
    _assert_head_index(store)


def _index_sql(store: SqlStore) -> str:
    """An identity of the index that a rebuild would change."""
    if store.is_sqlite:
        return "SELECT rowid FROM sqlite_master WHERE name = 'ix_tasks_business'"
    return "SELECT to_regclass('ix_tasks_business')::oid"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_downgrade_and_upgrade_again(backend: str, request: pytest.FixtureRequest) -> None:
    store: SqlStore = request.getfixturevalue(f"{backend}_store")
    _drift_task_index(store)
    _alembic(store, "downgrade", "0020")  # 0022 leaves the drifted index: nothing to undo
    assert store.revision() == "0020"
    store.upgrade()
    assert store.revision() == HEAD
    _assert_head_index(store)
    _alembic(store, "downgrade", "0015")  # 0016's downgrade finds the index it expects
    store.upgrade()
    _assert_head_index(store)


def test_a_fresh_upgrade_from_nothing_builds_head_on_sqlite(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'fresh.db'}", migrate=False)
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == HEAD
    _assert_head_index(store)
    store.close()


# -- PostgreSQL: grants and policies --------------------------------------------------------


def _roles(store: SqlStore, *names: str) -> None:
    with store.engine.begin() as connection:
        for name in names:
            connection.exec_driver_sql(f"CREATE ROLE {name} NOLOGIN")


def _drop_roles(store: SqlStore, *names: str) -> None:
    with store.engine.begin() as connection:
        for name in names:
            connection.exec_driver_sql(f"DROP OWNED BY {name}")
            connection.exec_driver_sql(f"DROP ROLE {name}")


def _privileges(store: SqlStore, role: str, table: str) -> set[str]:
    with store.engine.connect() as connection:
        return set(
            connection.exec_driver_sql(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE table_schema = current_schema() AND table_name = %s AND grantee = %s",
                (table, role),
            ).scalars()
        )


def test_sign_in_failures_granted_to_a_web_users_reader_are_revoked(
    postgres_store: SqlStore,
) -> None:
    """At 97714eb, 0017 granted the failures to every role holding web_users: a reader
    could delete lockouts. Head's 0017 grants them to roles that insert and update it."""
    store = postgres_store
    suffix = uuid.uuid4().hex[:8]
    reader, writer, app = f"t_reader_{suffix}", f"t_writer_{suffix}", f"t_app_{suffix}"
    _roles(store, reader, writer)
    store.grant_app_role(app)
    try:
        with store.engine.begin() as connection:
            connection.exec_driver_sql(f"GRANT SELECT ON web_users TO {reader}")
            connection.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE ON web_users TO {writer}")
            for role in (reader, writer):  # what 97714eb's 0017 granted them
                connection.exec_driver_sql(
                    f"GRANT SELECT, INSERT, DELETE ON sign_in_failures TO {role}"
                )
        _drift_task_index(store)
        _alembic(store, "stamp", "0021")
        store.upgrade()
        assert _privileges(store, reader, "sign_in_failures") == set()
        assert _privileges(store, reader, "web_users") == {"SELECT"}  # untouched
        for role in (writer, app):
            assert _privileges(store, role, "sign_in_failures") == {"SELECT", "INSERT", "DELETE"}
        assert _privileges(store, app, "businesses") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        _assert_head_index(store)
    finally:
        _drop_roles(store, reader, writer, app)


def _policies(store: SqlStore) -> dict[str, tuple[str, str]]:
    with store.engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT tablename, qual, with_check FROM pg_policies "
            "WHERE schemaname = current_schema() AND policyname = 'twores_scope'"
        )
        return {t: (q, c) for t, q, c in found.all()}


def test_the_policies_are_by_tier_at_head_and_as_0009_made_them_below(
    postgres_url: str,
) -> None:
    store = SqlStore(postgres_url, migrate=False)
    try:
        store.upgrade("0020")
        old = _policies(store)
        assert set(old) == rls.RLS_TABLES
        store.upgrade()  # from 0020: 0021 and 0022 on a database with the head's shapes
        _assert_head_index(store)
        new = _policies(store)
        assert set(new) == rls.RLS_TABLES
        for table in rls.HOT_TABLES:
            qual, check = new[table]
            assert qual == check and rls.SCOPE_TIER in qual and rls.SCOPE_COUNTIES in qual
            assert "(county_code)::text = ANY" in qual  # sargable on the distribution column
        for table in rls.KPI_TABLES:
            assert new[table] == old[table]  # the county policies are unchanged
        _alembic(store, "downgrade", "0020")
        assert _policies(store) == old
    finally:
        store.close()


def _stamp(url: str, revision: str) -> None:
    """Record ``revision`` as the schema's, as a newer twores would have (no migration)."""
    engine = sa.create_engine(normalise_url(url))
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_a_newer_twores_migrated_is_refused_with_its_own_code(
    backend: str, request: pytest.FixtureRequest
) -> None:
    store: SqlStore = request.getfixturevalue(f"{backend}_store")
    url = store.url
    _stamp(url, "0999")
    with pytest.raises(SchemaNewerError) as newer:
        SqlStore(url)
    assert newer.value.code == "schema_newer"
    assert isinstance(newer.value, SchemaVersionError)
    for message in (newer.value.message_zh, newer.value.message_en):
        assert "0999" in message and HEAD in message
    assert "升级 twores" in newer.value.message_zh and "upgrade twores" in newer.value.message_en
    with pytest.raises(SchemaNewerError):
        store.upgrade()
    assert store.revision() == "0999"  # nothing changed


def test_the_cli_names_a_newer_schema_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "newer.db"
    SqlStore(f"sqlite:///{db}").close()
    _stamp(f"sqlite:///{db}", "0999")
    shown = subprocess.run(
        [sys.executable, "-m", "twores_cli.main", "--db", str(db), "kpi", "2026Q1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert shown.returncode == 1, shown.stderr
    assert "Traceback" not in shown.stderr
    assert "0999" in shown.stderr and "升级 twores" in shown.stderr


def test_an_app_role_meeting_an_old_schema_gets_the_outdated_code(postgres_url: str) -> None:
    owner = SqlStore(postgres_url, migrate=False)
    owner.upgrade("0015")
    role = f"twores_mig_{uuid.uuid4().hex[:10]}"
    owner.grant_app_role(role)
    app = SqlStore(postgres_url, migrate=False)

    def set_role(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET ROLE {role}")
        cursor.close()
        dbapi_connection.commit()

    sa.event.listen(app.engine, "connect", set_role)
    try:
        with pytest.raises(SchemaOutdatedError) as outdated:
            app.upgrade()
        assert outdated.value.code == "schema_outdated"
        assert "0015" in outdated.value.message_zh and HEAD in outdated.value.message_en
        assert "twores db upgrade" in outdated.value.message_en
    finally:
        app.close()
        with owner.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
        owner.close()


# -- PostgreSQL: LZ4 for the audit log (0024) -----------------------------------------------


def _compression(store: SqlStore) -> dict[str, str]:
    with store.engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
            "WHERE attrelid IN ('audit_log'::regclass, 'rankings'::regclass) "
            "AND attname IN ('before', 'after', 'payload')"
        )
        return dict(found.all())  # type: ignore[arg-type]


def _audited_values(store: SqlStore) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT after, pg_column_compression(after) FROM audit_log "
            "WHERE entity = 'business' ORDER BY seq"
        )
        return list(found.all())


def test_the_audit_log_is_compressed_with_lz4_and_reads_the_same_either_way(
    postgres_store: SqlStore,
) -> None:
    store = postgres_store
    with store.engine.connect() as connection:
        offered = connection.exec_driver_sql(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar()
    if "lz4" not in (offered or ()):
        pytest.skip("this PostgreSQL server was built without LZ4: 0024 changes nothing")
    lz4 = {"audit_log.before": "l", "audit_log.after": "l", "rankings.payload": "l"}
    assert _compression(store) == lz4
    admin = twores.Scope("tester", twores.Role.ADMIN)
    with store.unit_of_work(admin) as uow:
        uow.areas.upsert_many(demo_region())
        uow.businesses.upsert_many([catering_business(n) for n in range(1, 201)])
        uow.commit()
    [(written, method)] = _audited_values(store)
    assert method == "lz4" and len(written) > 8_000  # one bulk entry, stored out of line
    _alembic(store, "downgrade", "0023")
    assert set(_compression(store).values()) == {"p"}
    assert _audited_values(store) == [(written, "lz4")]  # nothing rewritten, still readable
    store.upgrade()
    assert _compression(store) == lz4
    with store.unit_of_work(admin) as uow:
        assert uow.audit.verify() == []
