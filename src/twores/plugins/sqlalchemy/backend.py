"""The SQL store: SQLAlchemy Core over SQLite (default) or PostgreSQL (psycopg 3).

This module holds the store and its unit of work; the repositories live in
:mod:`twores.plugins.sqlalchemy.repos`, one module per kind of record. Writes go in batches
through the driver's ``executemany`` (and COPY on PostgreSQL for new rows); a row hash per
record makes re-imports of unchanged data write nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from importlib import resources
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.dialects import postgresql

from twores.core.areas import Hierarchy
from twores.core.audit import AuditChain
from twores.core.errors import SchemaNewerError, SchemaOutdatedError, UnitFailedError
from twores.core.ports import WRITES_WAIT, UnitState, WritesBusyError
from twores.core.security import Scope
from twores.plugins.sqlalchemy import rls, rows, shown_url, tables
from twores.plugins.sqlalchemy.checkpoints import THRESHOLD_BYTES, WalCheckpointer
from twores.plugins.sqlalchemy.kpi_counts import SqlKpiCounts
from twores.plugins.sqlalchemy.repos import BATCH
from twores.plugins.sqlalchemy.repos.areas import Areas, areas_version
from twores.plugins.sqlalchemy.repos.assignments import Assignments
from twores.plugins.sqlalchemy.repos.logs import AuditLog, Imports, Rankings, audit_head
from twores.plugins.sqlalchemy.repos.records import (
    Businesses,
    Cadres,
    Duties,
    Letters,
    Problems,
    Tasks,
    Visits,
)
from twores.plugins.sqlalchemy.rows import StoredRow
from twores.plugins.sqlalchemy.summary import SqlKpiSummary
from twores.plugins.sqlalchemy.tables import TIER_COLUMN
from twores.plugins.storage.common import (
    Change,
    ScopeGuard,
    audit_payloads,
    canonical_rows,
)

#: The advisory lock every writing unit of work holds on PostgreSQL (:meth:`SqlUnitOfWork.writing`).
WRITES = "twores.writes"
_LOCK_NOT_AVAILABLE = "55P03"
#: SQLite: how long a statement waits for another connection's lock (ms); a unit of work
#: claiming the writer waits its ``writes_wait`` instead.
_BUSY_MS = 30000

AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "operation",
    "entity",
    "key",
    "before",
    "after",
    "prev_hash",
    "hash",
)
_SCHEMA_CHANGES = ("CREATE", "DROP", "ALTER")
#: PostgreSQL's SQLSTATE for "permission denied" (e.g. a role that owns no table migrating).
_INSUFFICIENT_PRIVILEGE = "42501"
#: SQLite: the name of :func:`_unicode_lower` in SQL (:meth:`SqlStore.unicode_lower`).
_UNICODE_LOWER = "twores_lower"
#: PostgreSQL: ICU's root-locale collation, whose ``lower()`` is Unicode's full lower-case
#: mapping (as Python's ``str.lower()``), whatever the database's LC_CTYPE.
_ICU_ROOT = "und-x-icu"
#: SQLite: an execution option; a transaction begun on a connection that has it is
#: ``BEGIN IMMEDIATE`` (takes the write lock at once, waiting ``busy_timeout``).
_IMMEDIATE = "twores_begin_immediate"

_LOG = logging.getLogger("twores")


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: SQLite page size of a new database: 16 KiB rather than 4. Measured: importing 1M businesses
#: 7-9 % faster (22.3-23.0 s against 23.2-25.3 s), the full KPI recount of 内蒙古 (225k) 6 %
#: (1.18 s against 1.25 s), a one-task commit the same (2.0 ms). An existing database keeps
#: its size (docs/storage.md says how to convert one).
PAGE_BYTES = 16_384
#: SQLite page cache of each connection, in KiB (256 MiB).
CACHE_KIB = 262_144


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={PAGE_BYTES}")  # takes effect in a new database only
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.execute("PRAGMA temp_store=MEMORY")  # scheduling's working tables
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # the store's checkpointer runs them
    cursor.execute(f"PRAGMA journal_size_limit={THRESHOLD_BYTES}")
    cursor.close()
    dbapi_connection.create_function(_UNICODE_LOWER, 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: Any) -> Any:
    """SQLite: ``str.lower()`` (its built-in ``lower()`` folds ASCII letters only)."""
    return value.lower() if isinstance(value, str) else value


def _postgres_session(dbapi_connection: Any, _: Any) -> None:
    """PostgreSQL: pin what the store's statements rely on of a session, whatever the
    database's or role's defaults (``ALTER DATABASE/ROLE … SET``, ``options=-c…``): dates
    written as text in ISO form (``DateStyle``). The isolation level, READ COMMITTED, is
    the engine's (:class:`SqlStore`). Committed at once: a ``SET`` in a transaction rolled
    back is undone."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET DateStyle = ISO")
    dbapi_connection.commit()


def _sqlite_begin(connection: sa.Connection) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _locked(error: sa.exc.OperationalError) -> bool:
    """SQLite's "database is locked": another connection held the write lock too long."""
    return "locked" in str(error.orig)


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    """Whether ``revision`` is one of this code's migrations."""
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


class SqlStore:
    """A database opened from a SQLAlchemy URL; migrated to the latest schema on open
    (``migrate``), which a database that was at an older revision logs on the ``twores``
    logger as a warning, naming both revisions (a new database: at INFO), unless not
    ``announce`` (``twores db upgrade``, which says it itself). :attr:`migrated`: the
    revisions before and after that migration (None: not migrated on opening).

    ``writes_wait``: the seconds a unit of work waits for another writer by default
    (:attr:`SqlUnitOfWork.writes_wait`)."""

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        announce: bool = True,
        echo: bool = False,
        writes_wait: float = WRITES_WAIT,
    ) -> None:
        self.url = normalise_url(url)
        self.writes_wait = writes_wait
        # A server connection dropped while idle in the pool (a restart, a failover) is
        # noticed and replaced at checkout, not handed to a request.
        pre_ping = not self.url.startswith("sqlite")
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": pre_ping}
        if sa.engine.make_url(self.url).get_backend_name() == "postgresql":
            # Each statement after the writer claim reads what the writer before committed
            # (SqlUnitOfWork.writing): under a default of REPEATABLE READ the unit's snapshot,
            # taken at its first read before the claim, made the next writer's UPDATE fail
            # ("could not serialize access") or its reads miss that commit.
            options["isolation_level"] = "READ COMMITTED"
        self.engine = sa.create_engine(self.url, **options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.checkpointer: WalCheckpointer | None = None
        self._icu: bool | None = None
        if self.is_postgres:
            sa.event.listen(self.engine, "connect", _postgres_session)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
            database = self.engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                self.checkpointer = WalCheckpointer(database)
        self._hierarchy: Hierarchy | None = None
        self._areas_version: int | None = None
        self.migrated: tuple[str | None, str | None] | None = None
        if migrate:
            try:
                self.migrated = self.upgrade()
            except BaseException:
                self.close()  # a schema this code cannot use: release the engine
                raise
            if announce:
                _log_migration(shown_url(self.url), *self.migrated)

    def alembic_config(self, connection: sa.Connection | None = None) -> Config:
        config = Config()
        location = resources.files("twores.plugins.sqlalchemy").joinpath("migrations")
        config.set_main_option("script_location", str(location))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def upgrade(self, revision: str = "head") -> tuple[str | None, str | None]:
        """Apply the Alembic migrations up to ``revision``; the revisions before and after
        (the same when there was nothing to do; None before: a new database). A role that
        may not change the schema (the app role of docs/web.md) gets
        :class:`SchemaOutdatedError` saying who must upgrade it; a database a newer twores
        migrated, :class:`SchemaNewerError`.

        Processes opening an outdated database at once migrate one at a time; the others
        wait, then find it migrated. PostgreSQL: a transaction-scoped advisory lock.
        SQLite: the migration's transaction is ``BEGIN IMMEDIATE`` (waiting up to the busy
        timeout, 30 s); a deferred ``BEGIN`` that had read the old revision could not write
        once the first process committed ("database is locked")."""
        scripts = ScriptDirectory.from_config(self.alembic_config())
        head = scripts.get_current_head()
        assert head is not None
        if self.is_sqlite and revision == "head":  # the usual case: no write lock to wait for
            with self.engine.connect() as connection:
                if MigrationContext.configure(connection).get_current_revision() == head:
                    return head, head
        with self.engine.connect() as opened:
            connection = opened.execution_options(**{_IMMEDIATE: True})
            with connection.begin():
                if self.is_postgres:  # processes opening a database migrate one at a time
                    key = sa.func.hashtext(sa.func.current_schema() + " twores.migrate")
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
                config = self.alembic_config(connection)
                current = MigrationContext.configure(connection).get_current_revision()
                if revision == "head" and current == head:
                    return current, current
                if current is not None and not _known(scripts, current):
                    raise SchemaNewerError(current, head)
                try:
                    command.upgrade(config, revision)
                except sa.exc.DBAPIError as error:
                    if getattr(error.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
                        raise
                    raise SchemaOutdatedError(current, head) from error
                after = MigrationContext.configure(connection).get_current_revision()
        if self.checkpointer is not None:
            self.checkpointer.committed()
        return current, after

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def unit_of_work(self, scope: Scope) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, scope)

    def grant_app_role(self, role: str, *, login: bool = False) -> None:
        """PostgreSQL: create ``role`` (owning no table) with the app's grants."""
        rls.grant_app_role(self, role, login=login)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()

    def unicode_lower(
        self, connection: sa.Connection, value: sa.ColumnElement[str]
    ) -> sa.ColumnElement[str]:
        """``value`` lower-cased as Python's ``str.lower()`` does (the memory store's case
        folding): on SQLite by that very function (its ``lower()`` folds ASCII only); on
        PostgreSQL by ICU's root locale (its ``lower()`` folds by the database's LC_CTYPE:
        ASCII only under ``C``) where the server has ICU and the database is UTF-8, else by
        the database's LC_CTYPE after all (asked once per store)."""
        if self.is_sqlite:
            return sa.Function(_UNICODE_LOWER, value, type_=sa.String())
        if self.is_postgres and self._icu is None:
            query = sa.text(
                "SELECT getdatabaseencoding() = 'UTF8' AND EXISTS (SELECT 1 FROM pg_collation"
                " WHERE collname = :name AND collprovider = 'i')"
            )
            self._icu = bool(connection.execute(query, {"name": _ICU_ROOT}).scalar())
        return sa.func.lower(sa.collate(value, _ICU_ROOT) if self._icu else value)

    def hierarchy(self, connection: sa.Connection) -> Hierarchy:
        """The areas, reloaded whenever any process has changed them since the last load."""
        version = areas_version(connection)
        if self._hierarchy is None or version != self._areas_version:
            found = connection.execute(sa.select(tables.areas)).cursor  # the driver's rows
            assert found is not None
            self._hierarchy = Hierarchy(rows.area(r) for r in found.fetchall())
            self._areas_version = version
        return self._hierarchy


def _log_migration(where: str, before: str | None, after: str | None) -> None:
    """Say on the ``twores`` logger that opening ``where`` migrated it (nothing if not)."""
    if before == after:
        return
    if before is None:
        _LOG.info(
            "已创建数据库结构（%s）：%s / created the database schema at %s: %s",
            after,
            where,
            after,
            where,
        )
        return
    _LOG.warning(
        "打开数据库时已将其结构从 %s 升级到 %s：%s / opening the database upgraded its schema"
        " from %s to %s: %s",
        before,
        after,
        where,
        before,
        after,
        where,
    )


class SqlUnitOfWork:
    """One transaction on one connection; keeps the :class:`~twores.core.ports.UnitOfWork`
    rules through :attr:`state` (every repository reaches the database through
    :attr:`connection`, which is refused once the unit ended)."""

    def __init__(self, store: SqlStore, scope: Scope) -> None:
        self.store, self.scope = store, scope
        self.writes_wait = store.writes_wait
        self.state = UnitState()
        self._connection = store.engine.connect()
        self._transaction = self._connection.begin()
        self._changes_at_begin = self._total_changes()
        self._changed_schema = self._claimed = self._writing = False
        if store.is_sqlite:
            sa.event.listen(self.connection, "before_cursor_execute", self._note_statement)
        self._hierarchy = store.hierarchy(self.connection)
        rls.enter(self)  # PostgreSQL app role: SET LOCAL the scope for the policies
        self._hierarchy_changed = False
        self._chain: AuditChain | None = None
        self._committed = False
        self._tuned = False
        self.areas = Areas(self)
        self.businesses = Businesses(self)
        self.cadres = Cadres(self)
        self.assignments = Assignments(self)
        self.tasks = Tasks(self)
        self.visits = Visits(self)
        self.letters = Letters(self)
        self.duties = Duties(self)
        self.problems = Problems(self)
        self.rankings = Rankings(self)
        self.audit = AuditLog(self)
        self.imports = Imports(self)
        self.kpi_counts = SqlKpiCounts(self)
        self.kpi_summary = SqlKpiSummary(self)

    @property
    def connection(self) -> sa.Connection:
        """The unit's connection; :class:`~twores.core.errors.UnitEndedError` once it ended."""
        self.state.check()
        return self._connection

    @property
    def guard(self) -> ScopeGuard:
        return ScopeGuard(self.scope, self._hierarchy)

    def _total_changes(self) -> int | None:
        """SQLite: rows this connection has changed since it opened."""
        if not self.store.is_sqlite:
            return None
        return int(self._connection.connection.driver_connection.total_changes)  # type: ignore[union-attr]

    def _note_statement(self, _c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """SQLite: note schema changes (``total_changes`` does not count them)."""
        if not self._changed_schema and statement.lstrip()[:6].upper().startswith(_SCHEMA_CHANGES):
            self._changed_schema = True

    def claim_writer(self, name: str, *, wait: float | None = None) -> None:
        """Wait until no other run that claims ``name`` is under way, before reading what
        this one will write from (once per unit of work). ``wait``: seconds instead of
        :attr:`writes_wait`; 0 only tries (busy: :class:`WritesBusyError` at once).

        PostgreSQL: a transaction-scoped advisory lock on ``name`` (within the schema),
        waited for at most :attr:`writes_wait` (else :class:`WritesBusyError`, the unit
        as it was: :meth:`_advisory_lock`). SQLite: one writer at a time anyway, but a
        transaction that has read first cannot take the write lock once another writer
        has committed ("database is locked"); so a unit of work that has changed nothing so
        far begins again as ``BEGIN IMMEDIATE``, which waits (up to :attr:`writes_wait`,
        else :class:`WritesBusyError`) for the other writer and reads its commits. One that
        has written rows holds the write lock already; one that has changed the schema, or
        holds a savepoint, cannot begin again without losing them: an error.
        """
        waiting = self.writes_wait if wait is None else wait
        if self.store.is_postgres:
            self._advisory_lock(name, waiting)
            return
        if not self.store.is_sqlite or self._claimed:
            return
        self._claimed = True
        if self._total_changes() != self._changes_at_begin:
            return
        if self._changed_schema or self.connection.in_nested_transaction():
            raise RuntimeError(f"claim_writer({name!r}) must come before this unit's writes")
        connection = self.connection
        connection.exec_driver_sql("ROLLBACK")
        busy_ms = max(1, round(waiting * 1000)) if waiting > 0 else 0
        connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except sa.exc.OperationalError as error:
            connection.exec_driver_sql("BEGIN")  # as SQLAlchemy believes, to roll back
            self._claimed = False  # refused: the next claim tries again
            if _locked(error):
                raise WritesBusyError() from error
            raise
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_MS}")
        self._hierarchy = self.store.hierarchy(connection)
        self.kpi_summary.writes += 1  # counts cached before are of the earlier snapshot

    def claim_writes(self) -> None:
        """:meth:`UnitOfWork.claim_writes <twores.core.ports.UnitOfWork.claim_writes>`:
        call before the first read of a read-modify-write. PostgreSQL: the ``twores.writes``
        advisory lock (:meth:`writing`), taken before anything is read (at READ COMMITTED,
        the store's, a statement reads what was committed when it starts, so every read
        after the lock sees the previous writer's commit). SQLite: :meth:`claim_writer`,
        which begins again as ``BEGIN IMMEDIATE``; a transaction that read first could not
        write once another writer had committed ("database is locked": ``busy_timeout``
        does not retry a stale snapshot). Either waits at most :attr:`writes_wait` seconds,
        else :class:`WritesBusyError`."""
        self.state.check()
        if self.store.is_sqlite:
            self.claim_writer(WRITES)
        elif not self._writing:
            self.writing()
            self._hierarchy = self.store.hierarchy(self.connection)  # as of the claim

    def writing(self) -> None:
        """Call before a write reads what it compares against. PostgreSQL: wait until no
        other unit of work on this schema is writing (a transaction-scoped advisory lock,
        taken once per unit, waiting at most :attr:`writes_wait` seconds, else
        :class:`WritesBusyError`). Every writer takes the audit head and the counties' KPI
        versions, in whatever order its writes come, so concurrent writers deadlocked. This
        is the last moment to take it; a unit whose service read what it writes from has
        taken it before that read (:meth:`claim_writes`). Readers never wait. SQLite has
        one writer at a time by itself (a writer whose snapshot is stale is refused, not
        merged)."""
        if self.store.is_postgres and not self._writing:
            self.claim_writer(WRITES)
            self._writing = True  # a refused claim is tried again by the next write

    def _advisory_lock(self, name: str, wait: float | None = None) -> None:
        """PostgreSQL: take the transaction-scoped advisory lock on ``name`` (within the
        schema), waiting at most ``wait`` (default :attr:`writes_wait`) seconds, else
        :class:`WritesBusyError`; ``wait`` 0 only tries (``pg_try_advisory_xact_lock``).

        The wait is ``lock_timeout``, and a lock timeout aborts the transaction it ends:
        the attempt runs in a savepoint, rolled back when refused, so a busy refusal leaves
        the unit as it was (its reads, writes and ``SET LOCAL`` settings; usable, as on
        SQLite and memory). The savepoint writes nothing, so it takes no transaction id of
        its own (none of the 64 a backend caches per transaction). Polling
        ``pg_try_advisory_xact_lock`` instead would not abort either, but would lose the
        server's queue (first come, first served) and add up to a polling interval to
        every contended claim."""
        connection = self.connection
        key = sa.func.hashtext(sa.func.current_schema() + f" {name}")
        seconds = self.writes_wait if wait is None else wait
        if seconds <= 0:  # a try: never waits, never aborts the transaction
            if not connection.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key))).scalar():
                raise WritesBusyError()
            return
        waited = connection.exec_driver_sql("SHOW lock_timeout").scalar()
        wait_ms = max(1, round(seconds * 1000))
        try:
            with connection.begin_nested():
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait_ms}ms'")
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        except sa.exc.OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            raise WritesBusyError() from error
        connection.execute(sa.select(sa.func.set_config("lock_timeout", waited, True)))

    def tune_for_bulk(self) -> None:
        """PostgreSQL, for the rest of the transaction: no JIT (compiling the expressions
        of a province-wide scan took 2.2 of its 2.7 s, and scheduling's per-county
        statements were compiled one by one) and room to sort or hash a province's rows in
        memory (the default 4 MB spilled a GROUP BY to disk)."""
        if self.store.is_postgres and not self._tuned:
            self.connection.exec_driver_sql("SET LOCAL jit = off")
            self.connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            self._tuned = True

    @property
    def mark(self) -> str:
        """The driver's parameter placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
        return "?" if self.connection.dialect.paramstyle == "qmark" else "%s"

    def placeholders(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def executemany(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        if params:
            self.connection.exec_driver_sql(sql, params)

    def fetch(self, query: sa.Select[Any]) -> Iterator[StoredRow]:
        """The rows of ``query`` as mappings, streamed in batches.

        On SQLite, as the driver's values (dates as ISO text; the record builders take
        both) read straight off the cursor: skipping SQLAlchemy's per-row processing
        halves the cost of streaming a province. Elsewhere SQLAlchemy streams them
        (server-side cursors on PostgreSQL).
        """
        if not self.store.is_sqlite:
            yield from self.connection.execute(query.execution_options(yield_per=BATCH)).mappings()
            return
        result = self.connection.execute(query)
        cursor = result.cursor
        names = [column[0] for column in cursor.description]
        try:
            while batch := cursor.fetchmany(BATCH):
                for values in batch:
                    yield dict(zip(names, values, strict=True))
        finally:
            result.close()

    def one_of(
        self, column: sa.ColumnElement[Any], values: Collection[Any]
    ) -> sa.ColumnElement[bool]:
        """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter for
        any number of values (5,000 keys as an IN list took twice as long to look up, most
        of it parsing and planning the statement)."""
        if self.store.is_postgres:
            array = sa.literal(list(values), postgresql.ARRAY(column.type))
            return column == sa.any_(array)
        return column.in_(values)

    def pairs(self, query: sa.Select[tuple[Any, Any]]) -> dict[Any, Any]:
        """The rows of a two-column ``query`` as a dict, read at once as the driver's
        tuples (on SQLite 0.3 s less per million rows than mappings)."""
        if not self.store.is_sqlite:
            return dict(self.connection.execute(query).all())
        result = self.connection.execute(query)
        try:
            return dict(result.cursor.fetchall())
        finally:
            result.close()

    def insert_rows(
        self, table: str, columns: tuple[str, ...], values: list[tuple[Any, ...]]
    ) -> None:
        """Insert new rows: COPY on PostgreSQL for more than a handful, else executemany."""
        if not values:
            return
        names = ", ".join(columns)
        if self.store.is_postgres and len(values) > 100 and rls.copy_allowed(self, table):
            cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        self.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({self.placeholders(len(columns))})", values
        )

    def record(
        self, entity: str, changes: list[Change], fields: tuple[str, ...] | None = None
    ) -> None:
        """Append audit entries for (key, before, after) changes and move the head."""
        if not changes:
            return
        self.writing()
        if self._chain is None:
            self.connection.execute(
                sa.update(tables.audit_head)
                .where(tables.audit_head.c.id == 1)
                .values(seq=tables.audit_head.c.seq)
            )
            self._chain = AuditChain(*audit_head(self.connection))
        params = []
        for operation, key, before, after in audit_payloads(changes, fields):
            encoded = (canonical_rows(before), canonical_rows(after))
            entry = self._chain.next(
                self.scope.actor, operation, entity, key, before, after, encoded=encoded
            )
            params.append(
                (
                    entry.seq,
                    entry.at,
                    entry.actor,
                    entry.operation,
                    entry.entity,
                    entry.key,
                    None if before is None else encoded[0],
                    None if after is None else encoded[1],
                    entry.prev_hash,
                    entry.hash,
                )
            )
        self.insert_rows("audit_log", AUDIT_COLUMNS, params)
        self.connection.execute(
            sa.update(tables.audit_head)
            .where(tables.audit_head.c.id == 1)
            .values(seq=self._chain.last_seq, hash=self._chain.last_hash)
        )

    def commit(self) -> None:
        """Commit; a failed unit (a write raised) is rolled back instead, raising
        :class:`~twores.core.errors.UnitFailedError`. The unit ends either way."""
        with self.state.ending():
            try:
                if self.state.failed:
                    if self._transaction.is_active:
                        self._transaction.rollback()
                    raise UnitFailedError()
                version = areas_version(self._connection) if self._hierarchy_changed else None
                self._transaction.commit()
                self._committed = True
            finally:
                self._connection.close()
            if version is not None:
                self.store._hierarchy, self.store._areas_version = self._hierarchy, version
        if self.store.checkpointer is not None:
            self.store.checkpointer.committed()

    def rollback(self) -> None:
        """Roll back and end the unit; nothing once it has ended."""
        if self.state.ended:
            return
        self.state.ended = True
        if self._transaction.is_active:
            self._transaction.rollback()
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.rollback()

    def within_clause(self, table: sa.Table, within: str | None) -> sa.ColumnElement[bool] | None:
        root = self.guard.within(within)
        if root is None:
            return None
        area = self._hierarchy.get(root)
        if area is None:
            return sa.false()
        return table.c[TIER_COLUMN[area.tier]] == root
