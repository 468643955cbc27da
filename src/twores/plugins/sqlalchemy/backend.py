"""The SQL store: SQLAlchemy Core over SQLite (default) or PostgreSQL (psycopg 3).

Writes go in batches through the driver's ``executemany`` (and COPY on PostgreSQL for new
rows); a row hash per record makes re-imports of unchanged data write nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date
from importlib import resources
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from twores.core.areas import Area, Hierarchy, Tier
from twores.core.assignment import Assignment, Plan
from twores.core.audit import AuditChain, AuditEntry, AuditProblem, canonical, verify_chain
from twores.core.businesses import IN_SCOPE_STATUSES
from twores.core.duties import DutyKind, DutyRecord
from twores.core.kpis import Ranking, RankingRun
from twores.core.letters import Letter
from twores.core.ports import ImportRecord, UpsertResult
from twores.core.problems import OPEN_WITH_DEADLINE, Problem, ProblemStatus, Severity
from twores.core.roster import UnknownRecordError
from twores.core.security import Scope
from twores.core.supervision import SupervisionTask, Visit
from twores.plugins.sqlalchemy import rls, rows, tables
from twores.plugins.sqlalchemy.kpi_counts import SqlKpiCounts
from twores.plugins.sqlalchemy.summary import SqlKpiSummary
from twores.plugins.storage.common import (
    CONVERTER,
    AncestorCodes,
    Change,
    ScopeGuard,
    audit_payloads,
)

BATCH = 5_000
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
_TIER_COLUMN = {
    Tier.PROVINCE: "province_code",
    Tier.CITY: "city_code",
    Tier.COUNTY: "county_code",
    Tier.TOWNSHIP: "township_code",
    Tier.VILLAGE: "village_code",
}


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


class SqlStore:
    """A database opened from a SQLAlchemy URL; migrated to the latest schema on open."""

    def __init__(self, url: str, *, migrate: bool = True, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine = sa.create_engine(self.url, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.is_postgres = self.engine.dialect.name == "postgresql"
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        self._hierarchy: Hierarchy | None = None
        self._areas_version: int | None = None
        if migrate:
            self.upgrade()

    def alembic_config(self, connection: sa.Connection | None = None) -> Config:
        config = Config()
        location = resources.files("twores.plugins.sqlalchemy").joinpath("migrations")
        config.set_main_option("script_location", str(location))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to ``revision``."""
        with self.engine.begin() as connection:
            command.upgrade(self.alembic_config(connection), revision)

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(connection).get_current_revision()

    def unit_of_work(self, scope: Scope) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, scope)

    def grant_app_role(self, role: str, *, login: bool = False) -> None:
        """PostgreSQL: create ``role`` (owning no table) with the app's grants."""
        rls.grant_app_role(self, role, login=login)

    def close(self) -> None:
        self.engine.dispose()

    def hierarchy(self, connection: sa.Connection) -> Hierarchy:
        """The areas, reloaded whenever any process has changed them since the last load."""
        version = areas_version(connection)
        if self._hierarchy is None or version != self._areas_version:
            self._hierarchy = Hierarchy(
                rows.area(r) for r in connection.execute(sa.select(tables.areas))
            )
            self._areas_version = version
        return self._hierarchy


def areas_version(connection: sa.Connection) -> int:
    meta = tables.store_meta
    value = connection.execute(
        sa.select(meta.c.value).where(meta.c.key == "areas_version")
    ).scalar_one()
    return int(value)


class SqlUnitOfWork:
    def __init__(self, store: SqlStore, scope: Scope) -> None:
        self.store, self.scope = store, scope
        self.connection = store.engine.connect()
        self._transaction = self.connection.begin()
        self._hierarchy = store.hierarchy(self.connection)
        rls.enter(self)  # PostgreSQL app role: SET LOCAL the scope for the policies
        self._hierarchy_changed = False
        self._chain: AuditChain | None = None
        self._committed = False
        self.areas = _Areas(self)
        self.businesses = _Businesses(self)
        self.cadres = _Cadres(self)
        self.assignments = _Assignments(self)
        self.tasks = _Tasks(self)
        self.visits = _Visits(self)
        self.letters = _Letters(self)
        self.duties = _Duties(self)
        self.problems = _Problems(self)
        self.rankings = _Rankings(self)
        self.audit = _Audit(self)
        self.imports = _Imports(self)
        self.kpi_counts = SqlKpiCounts(self)
        self.kpi_summary = SqlKpiSummary(self)

    @property
    def guard(self) -> ScopeGuard:
        return ScopeGuard(self.scope, self._hierarchy)

    def placeholders(self, count: int) -> str:
        mark = "?" if self.connection.dialect.paramstyle == "qmark" else "%s"
        return ", ".join([mark] * count)

    def executemany(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        if params:
            self.connection.exec_driver_sql(sql, params)

    def fetch(self, query: sa.Select[Any]) -> Iterator[Mapping[str, Any]]:
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
        if self._chain is None:
            self.connection.execute(
                sa.update(tables.audit_head)
                .where(tables.audit_head.c.id == 1)
                .values(seq=tables.audit_head.c.seq)
            )
            head = self.connection.execute(
                sa.select(tables.audit_head.c.seq, tables.audit_head.c.hash)
            ).one()
            self._chain = AuditChain(head.seq, head.hash)
        params = []
        for operation, key, before, after in audit_payloads(changes, fields):
            encoded = (canonical(before), canonical(after))
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
        version = areas_version(self.connection) if self._hierarchy_changed else None
        self._transaction.commit()
        self._committed = True
        if version is not None:
            self.store._hierarchy, self.store._areas_version = self._hierarchy, version
        self.connection.close()

    def rollback(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()
        self.connection.close()

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
        return table.c[_TIER_COLUMN[area.tier]] == root


def _dump(value: object) -> str | None:
    return None if value is None else canonical(value)


def _load(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class _Areas:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def upsert_many(self, areas: Iterable[Area]) -> UpsertResult:
        uow = self.uow
        uow.guard.check_admin("区划", "areas")
        existing = {
            a.code: a
            for a in (rows.area(r) for r in uow.connection.execute(sa.select(tables.areas)))
        }
        staged = dict(existing)
        changes: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        inserts, updates = [], []
        unchanged = 0
        for area in areas:
            before = staged.get(area.code)
            if before == area:
                unchanged += 1
                continue
            staged[area.code] = area
            (inserts if before is None else updates).append(area)
            changes.append(
                (area.code, rows.area_plain(before) if before else None, rows.area_plain(area))
            )
        if not changes:
            return UpsertResult(0, 0, unchanged)
        hierarchy = Hierarchy(staged.values())
        columns = ("code", "name", "tier", "parent_code", "valid_from", "valid_to")
        uow.executemany(
            f"INSERT INTO areas ({', '.join(columns)}) VALUES ({uow.placeholders(len(columns))})",
            [rows.area_values(a) for a in {a.code: a for a in inserts}.values()],
        )
        mark = "?" if uow.connection.dialect.paramstyle == "qmark" else "%s"
        uow.executemany(
            f"UPDATE areas SET name={mark}, tier={mark}, parent_code={mark}, valid_from={mark}, "
            f"valid_to={mark} WHERE code={mark}",
            [(*rows.area_values(a)[1:], a.code) for a in updates],
        )
        uow._hierarchy, uow._hierarchy_changed = hierarchy, True
        meta = tables.store_meta
        uow.connection.execute(
            sa.update(meta).where(meta.c.key == "areas_version").values(value=meta.c.value + 1)
        )
        uow.record("area", changes)
        inserted = len({a.code for a in inserts})
        return UpsertResult(inserted, len(changes) - inserted, unchanged)

    def get(self, code: str) -> Area | None:
        return self.uow._hierarchy.get(code)

    def stream(self) -> Iterator[Area]:
        return iter(sorted(self.uow._hierarchy, key=lambda a: (a.tier.depth, a.code)))

    def hierarchy(self) -> Hierarchy:
        return self.uow._hierarchy


class _Keyed:
    """Upsert, get, stream and count for businesses and cadres."""

    entity = ""
    what_zh = ""
    table: sa.Table
    key_column = ""
    codec: rows.Codec

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._fresh = False

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Into an empty table: drop the secondary indexes and build them once at the end
        (inside the transaction, so a rollback restores them), and skip looking up rows
        that cannot exist yet. Any other table: an ordinary load."""
        connection = self.uow.connection
        name = self.table.name
        if (
            self._fresh
            or rls.applies(self.uow.store, connection)  # the app role owns no index
            or connection.execute(sa.select(sa.literal(1)).select_from(self.table).limit(1)).first()
        ):
            yield
            return
        indexes = [
            i
            for i in sa.inspect(connection).get_indexes(name)
            if all(i["column_names"]) and not i.get("expressions")
        ]
        for index in indexes:
            connection.exec_driver_sql(f"DROP INDEX {index['name']}")
        self._fresh = True
        try:
            yield
        finally:
            self._fresh = False
        for index in indexes:
            unique = "UNIQUE " if index["unique"] else ""
            columns = ", ".join(index["column_names"])  # type: ignore[arg-type]
            connection.exec_driver_sql(
                f"CREATE {unique}INDEX {index['name']} ON {name} ({columns})"
            )

    def upsert_many(self, records: Iterable[Any]) -> UpsertResult:
        result = UpsertResult()
        batch: list[Any] = []
        for record in records:
            batch.append(record)
            if len(batch) >= BATCH:
                result += self._upsert_batch(batch)
                batch = []
        if batch:
            result += self._upsert_batch(batch)
        return result

    def _upsert_batch(self, records: list[Any]) -> UpsertResult:
        uow, codec = self.uow, self.codec
        guard = uow.guard
        hierarchy = guard.hierarchy
        keyed: dict[str, Any] = {}
        for record in records:
            keyed[codec.key(record)] = record
        existing = {} if self._fresh else self._existing(list(keyed))
        inserts: list[tuple[Any, ...]] = []
        deletes: list[tuple[str, str]] = []
        updates: list[tuple[Mapping[str, Any], tuple[Any, ...]]] = []
        changes: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        updated = unchanged = 0
        moves: list[tuple[str, AncestorCodes]] = []
        ancestors: dict[str, AncestorCodes] = {}
        writable: set[str] = set()
        for key, record in keyed.items():
            codes = ancestors.get(record.area_code)
            if codes is None:
                codes = ancestors[record.area_code] = AncestorCodes.of(hierarchy, record.area_code)
            if record.area_code not in writable:
                guard.check_write(record.area_code, f"{self.what_zh} {key}", f"{self.entity} {key}")
                writable.add(record.area_code)
            values = codec.values(record, codes)
            before = existing.get(key)
            if before is not None:
                if before["row_hash"] == values[-1]:
                    unchanged += 1
                    continue
                guard.check_write(
                    before["area_code"], f"{self.what_zh} {key}", f"{self.entity} {key}"
                )
                if before["area_code"] != record.area_code:
                    moves.append((key, codes))
                updated += 1
                if before["county_code"] == codes.county_code:
                    updates.append((before, values))
                else:  # the partition key moves: the row moves
                    deletes.append((before["county_code"], key))
                    inserts.append(values)
            else:
                inserts.append(values)
            changes.append(
                (
                    key,
                    codec.audit(before) if before is not None else None,
                    values[len(rows.ANCESTORS) : -1],
                )
            )
        mark = "?" if uow.connection.dialect.paramstyle == "qmark" else "%s"
        uow.executemany(
            f"DELETE FROM {self.table.name} WHERE county_code={mark} AND {self.key_column}={mark}",
            deletes,
        )
        self._insert(inserts)
        self._update(updates)
        if moves:
            self._moved(moves)
        replaced = [existing[k] for _, k in deletes] + [before for before, _ in updates]
        uow.kpi_summary.wrote(self.table, replaced, inserts + [values for _, values in updates])
        uow.record(self.entity, changes, codec.fields)
        return UpsertResult(len(inserts) + len(updates) - updated, updated, unchanged)

    def _update(self, updates: list[tuple[Mapping[str, Any], tuple[Any, ...]]]) -> None:
        """Rewrite only the columns that changed, one statement per set of changed columns
        (a credited task changes three; indexes on untouched columns are left alone)."""
        columns = self.codec.columns
        groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for before, values in updates:
            changed = tuple(i for i, c in enumerate(columns) if before[c] != values[i])
            key = before[self.key_column]
            groups[changed].append((*(values[i] for i in changed), before["county_code"], key))
        mark = "?" if self.uow.connection.dialect.paramstyle == "qmark" else "%s"
        for changed, params in groups.items():
            assignments = ", ".join(f"{columns[i]}={mark}" for i in changed)
            self.uow.executemany(
                f"UPDATE {self.table.name} SET {assignments} "
                f"WHERE county_code={mark} AND {self.key_column}={mark}",
                params,
            )

    def _existing(self, keys: list[str]) -> dict[str, Any]:
        query = sa.select(self.table).where(self.table.c[self.key_column].in_(keys))
        found = self.uow.connection.execute(query).mappings().all()
        return {row[self.key_column]: row for row in found}

    def _moved(self, moves: list[tuple[str, AncestorCodes]]) -> None:
        """Rows that follow a moved record's location (the business's assignments)."""

    def _insert(self, values: list[tuple[Any, ...]]) -> None:
        self.uow.insert_rows(self.table.name, self.codec.columns, values)

    def get(self, key: str) -> Any:
        row = (
            self.uow.connection.execute(
                sa.select(self.table).where(self.table.c[self.key_column] == key)
            )
            .mappings()
            .first()
        )
        if row is None or not self.uow.guard.allows(row["area_code"]):
            return None
        return self.codec.record(row)

    def get_many(self, keys: Collection[str]) -> dict[str, Any]:
        """The records of ``keys`` that exist and lie in scope, by key."""
        found: dict[str, Any] = {}
        ordered = sorted(keys)
        guard = self.uow.guard
        for start in range(0, len(ordered), BATCH):
            chunk = ordered[start : start + BATCH]
            query = sa.select(self.table).where(self.table.c[self.key_column].in_(chunk))
            for row in self.uow.connection.execute(query).mappings():
                if guard.allows(row["area_code"]):
                    found[row[self.key_column]] = self.codec.record(row)
        return found

    def _select(self, within: str | None) -> sa.Select[Any]:
        query = sa.select(self.table)
        clause = self.uow.within_clause(self.table, within)
        return query if clause is None else query.where(clause)

    def stream(self, *, within: str | None = None) -> Iterator[Any]:
        return self._where([], within)

    def _where(self, clauses: list[sa.ColumnElement[bool]], within: str | None) -> Iterator[Any]:
        query = self._select(within).order_by(self.table.c[self.key_column])
        if clauses:
            query = query.where(*clauses)
        for row in self.uow.fetch(query):
            yield self.codec.record(row)

    def count(self, *, within: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(self.table)
        clause = self.uow.within_clause(self.table, within)
        if clause is not None:
            query = query.where(clause)
        return int(self.uow.connection.execute(query).scalar_one())


class _Businesses(_Keyed):
    entity, what_zh = "business", "包保主体"
    table, key_column, codec = tables.businesses, "key", rows.BUSINESS

    def coverage_by_area(
        self, on: date, *, within: str | None = None
    ) -> dict[str, tuple[int, int]]:
        b, a = self.table.c, tables.assignments.c
        held = (
            sa.select(sa.literal(1))
            .where(
                a.county_code == b.county_code,
                a.business_key == b.key,
                a.valid_from <= on,
                sa.or_(a.valid_to.is_(None), a.valid_to > on),
            )
            .exists()
        )
        query = (
            sa.select(b.area_code, sa.func.sum(sa.case((held, 1), else_=0)), sa.func.count())
            .where(b.status.in_([s.value for s in IN_SCOPE_STATUSES]))
            .group_by(b.area_code)
        )
        clause = self.uow.within_clause(self.table, within)
        if clause is not None:
            query = query.where(clause)
        return {code: (int(n), int(d)) for code, n, d in self.uow.connection.execute(query)}

    def _moved(self, moves: list[tuple[str, AncestorCodes]]) -> None:
        """A moved business takes its assignment history with it (they are filed by its area)."""
        mark = "?" if self.uow.connection.dialect.paramstyle == "qmark" else "%s"
        self.uow.executemany(
            f"UPDATE assignments SET province_code={mark}, city_code={mark}, county_code={mark}, "
            f"township_code={mark}, village_code={mark} WHERE business_key={mark}",
            [(*rows.ancestor_values(codes), key) for key, codes in moves],
        )


class _Cadres(_Keyed):
    entity, what_zh = "cadre", "包保干部"
    table, key_column, codec = tables.cadres, "id", rows.CADRE


class _Tasks(_Keyed):
    entity, what_zh = "task", "督导任务"
    table, key_column, codec = tables.tasks, "key", rows.TASK

    def completion_by_area(
        self, overlapping: tuple[date, date], *, within: str | None = None
    ) -> dict[str, tuple[int, int]]:
        c = self.table.c
        query = (
            sa.select(
                c.area_code,
                sa.func.sum(sa.case((c.visit_id.is_not(None), 1), else_=0)),
                sa.func.count(),
            )
            .where(
                c.exempt_reason.is_(None),
                c.period_start <= overlapping[1],
                c.period_end >= overlapping[0],
            )
            .group_by(c.area_code)
        )
        clause = self.uow.within_clause(self.table, within)
        if clause is not None:
            query = query.where(clause)
        return {a: (int(n), int(d)) for a, n, d in self.uow.connection.execute(query)}

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        overlapping: tuple[date, date] | None = None,
        within: str | None = None,
        business_keys: Collection[str] | None = None,
    ) -> Iterator[SupervisionTask]:
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if business_keys is not None:
            clauses.append(c.business_key.in_(sorted(business_keys)))
        if cadre_id is not None:
            clauses.append(c.cadre_id == cadre_id)
        if overlapping is not None:
            clauses += [c.period_start <= overlapping[1], c.period_end >= overlapping[0]]
        return self._where(clauses, within)


class _Visits(_Keyed):
    entity, what_zh = "visit", "督导记录"
    table, key_column, codec = tables.visits, "key", rows.VISIT

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        cadre_id: str | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[Visit]:
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if cadre_id is not None:
            clauses.append(c.cadre_id == cadre_id)
        if between is not None:
            clauses += [c.visited_on >= between[0], c.visited_on <= between[1]]
        return self._where(clauses, within)


class _Letters(_Keyed):
    entity, what_zh = "letter", "承诺书"
    table, key_column, codec = tables.letters, "key", rows.LETTER

    def stream(  # type: ignore[override]
        self, *, year: int | None = None, cadre_id: str | None = None, within: str | None = None
    ) -> Iterator[Letter]:
        c = self.table.c
        clauses = []
        if year is not None:
            clauses.append(c.year == year)
        if cadre_id is not None:
            clauses.append(c.cadre_id == cadre_id)
        return self._where(clauses, within)


class _Duties(_Keyed):
    entity, what_zh = "duty_record", "主体责任记录"
    table, key_column, codec = tables.duty_records, "key", rows.DUTY

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        kind: DutyKind | None = None,
        between: tuple[date, date] | None = None,
        within: str | None = None,
    ) -> Iterator[DutyRecord]:
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if kind is not None:
            clauses.append(c.kind == kind.value)
        if between is not None:
            clauses += [c.on_day >= between[0], c.on_day <= between[1]]
        return self._where(clauses, within)


class _Problems(_Keyed):
    entity, what_zh = "problem", "问题"
    table, key_column, codec = tables.problems, "key", rows.PROBLEM

    def stream(  # type: ignore[override]
        self,
        *,
        business_key: str | None = None,
        status: ProblemStatus | None = None,
        severity: Severity | None = None,
        open_on: date | None = None,
        within: str | None = None,
    ) -> Iterator[Problem]:
        c = self.table.c
        clauses = []
        if business_key is not None:
            clauses.append(c.business_key == business_key)
        if status is not None:
            clauses.append(c.status == status.value)
        if severity is not None:
            clauses.append(c.severity == severity.value)
        if open_on is not None:
            clauses += [c.status.in_([s.value for s in OPEN_WITH_DEADLINE]), c.deadline < open_on]
        return self._where(clauses, within)


class _Assignments:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def upsert_many(self, assignments: Iterable[Assignment]) -> UpsertResult:
        result = UpsertResult()
        batch: list[Assignment] = []
        for assignment in assignments:
            batch.append(assignment)
            if len(batch) >= BATCH:
                result += self._upsert_batch(batch)
                batch = []
        if batch:
            result += self._upsert_batch(batch)
        return result

    def _upsert_batch(self, batch: list[Assignment]) -> UpsertResult:
        uow = self.uow
        guard = uow.guard
        t = tables.assignments
        keys = sorted({a.business_key for a in batch})
        areas = dict(
            uow.connection.execute(
                sa.select(tables.businesses.c.key, tables.businesses.c.area_code).where(
                    tables.businesses.c.key.in_(keys)
                )
            ).all()
        )
        cadre_ids = sorted({a.cadre_id for a in batch})
        known_cadres = set(
            uow.connection.execute(
                sa.select(tables.cadres.c.id).where(tables.cadres.c.id.in_(cadre_ids))
            ).scalars()
        )
        existing = {
            (r["business_key"], r["cadre_id"], r["valid_from"]): r
            for r in uow.connection.execute(sa.select(t).where(t.c.business_key.in_(keys)))
            .mappings()
            .all()
        }
        mark = "?" if uow.connection.dialect.paramstyle == "qmark" else "%s"
        inserts, updates = [], []
        changes: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        unchanged = 0
        for assignment in {rows.assignment_id(a): a for a in batch}.values():
            area = areas.get(assignment.business_key)
            if area is None:
                raise UnknownRecordError("包保主体", "business", assignment.business_key)
            if assignment.cadre_id not in known_cadres:
                raise UnknownRecordError("包保干部", "cadre", assignment.cadre_id)
            key = rows.assignment_key(assignment)
            guard.check_write(area, f"包保关系 {key}", f"assignment {key}")
            before = existing.get(rows.assignment_id(assignment))
            after = rows.assignment_plain(assignment)
            if before is not None:
                if (
                    before["valid_to"] == assignment.valid_to
                    and before["reason"] == assignment.reason.value
                ):
                    unchanged += 1
                    continue
                updates.append(
                    (
                        assignment.valid_to,
                        assignment.reason.value,
                        before["county_code"],
                        assignment.business_key,
                        assignment.cadre_id,
                        assignment.valid_from,
                    )
                )
                changes.append((key, rows.assignment_row_plain(before), after))
                continue
            codes = AncestorCodes.of(guard.hierarchy, area)
            inserts.append(rows.assignment_values(assignment, codes))
            changes.append((key, None, after))
        columns = rows.ASSIGNMENT_COLUMNS
        uow.executemany(
            f"INSERT INTO assignments ({', '.join(columns)}) "
            f"VALUES ({uow.placeholders(len(columns))})",
            inserts,
        )
        uow.executemany(
            f"UPDATE assignments SET valid_to={mark}, reason={mark} WHERE county_code={mark} "
            f"AND business_key={mark} AND cadre_id={mark} AND valid_from={mark}",
            updates,
        )
        uow.kpi_summary.touched("assignment", [v[2] for v in inserts] + [u[2] for u in updates])
        uow.record("assignment", changes)
        return UpsertResult(len(inserts), len(updates), unchanged)

    def apply(self, plan: Plan) -> UpsertResult:
        ended = []
        for change in plan.ends:
            for held in self.stream(business_key=change.business_key, cadre_id=change.cadre_id):
                if held.valid_from == change.valid_from and held.is_active(plan.on):
                    ended.append(held.ended(plan.on))
        return self.upsert_many([*ended, *(c.assignment for c in plan.creates)])

    def _query(
        self,
        business_key: str | None,
        business_keys: Collection[str] | None,
        cadre_id: str | None,
        active_on: date | None,
        within: str | None,
    ) -> list[sa.ColumnElement[bool]]:
        t = tables.assignments
        conditions: list[sa.ColumnElement[bool]] = []
        clause = self.uow.within_clause(t, within)
        if clause is not None:
            conditions.append(clause)
        if business_key is not None:
            conditions.append(t.c.business_key == business_key)
        if business_keys is not None:
            conditions.append(t.c.business_key.in_(sorted(business_keys)))
        if cadre_id is not None:
            conditions.append(t.c.cadre_id == cadre_id)
        if active_on is not None:
            conditions.append(t.c.valid_from <= active_on)
            conditions.append(sa.or_(t.c.valid_to.is_(None), t.c.valid_to > active_on))
        return conditions

    def stream(
        self,
        *,
        business_key: str | None = None,
        business_keys: Collection[str] | None = None,
        cadre_id: str | None = None,
        active_on: date | None = None,
        within: str | None = None,
    ) -> Iterator[Assignment]:
        t = tables.assignments
        query = (
            sa.select(t)
            .where(*self._query(business_key, business_keys, cadre_id, active_on, within))
            .order_by(t.c.business_key, t.c.cadre_id, t.c.valid_from)
        )
        for row in self.uow.fetch(query):
            yield rows.assignment(row)

    def count(self, *, active_on: date | None = None, within: str | None = None) -> int:
        t = tables.assignments
        query = (
            sa.select(sa.func.count())
            .select_from(t)
            .where(*self._query(None, None, None, active_on, within))
        )
        return int(self.uow.connection.execute(query).scalar_one())


class _Audit:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def entries(self, *, after_seq: int = 0) -> Iterator[AuditEntry]:
        t = tables.audit_log
        query = sa.select(t).where(t.c.seq > after_seq).order_by(t.c.seq)
        for r in self.uow.connection.execute(query.execution_options(yield_per=BATCH)):
            yield AuditEntry(
                r.seq,
                r.at,
                r.actor,
                r.operation,
                r.entity,
                r.key,
                _load(r.before),
                _load(r.after),
                r.prev_hash,
                r.hash,
            )

    def verify(self) -> list[AuditProblem]:
        problems = verify_chain(self.entries())
        head = self.uow.connection.execute(
            sa.select(tables.audit_head.c.seq, tables.audit_head.c.hash)
        ).one()
        last = self.uow.connection.execute(
            sa.select(tables.audit_log.c.seq, tables.audit_log.c.hash)
            .order_by(tables.audit_log.c.seq.desc())
            .limit(1)
        ).first()
        last_seq, last_hash = (last.seq, last.hash) if last else (0, "0" * 64)
        if (last_seq, last_hash) != (head.seq, head.hash):
            problems.append(
                AuditProblem(
                    head.seq,
                    "truncated",
                    f"审计日志末尾被删除或修改（应至第 {head.seq} 条，实至第 {last_seq} 条）",
                    "the end of the audit log was deleted or edited "
                    f"(head {head.seq}, last {last_seq})",
                )
            )
        return problems


class _Rankings:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def get(self, key: str) -> RankingRun | None:
        row = self.uow.connection.execute(
            sa.select(tables.rankings).where(tables.rankings.c.key == key)
        ).first()
        return None if row is None else _ranking_run(row)

    def latest(self, parent: str, *, before: str | None = None) -> RankingRun | None:
        t = tables.rankings
        query = sa.select(t).where(t.c.parent == parent)
        if before is not None:
            query = query.where(t.c.created_at < before)
        row = self.uow.connection.execute(
            query.order_by(t.c.created_at.desc(), t.c.key.desc()).limit(1)
        ).first()
        return None if row is None else _ranking_run(row)

    def record(self, run: RankingRun) -> bool:
        if self.get(run.key) is not None:
            return False
        self.uow.guard.check_write(run.ranking.parent, "排名", "ranking")
        payload = CONVERTER.unstructure(run.ranking)
        self.uow.connection.execute(
            sa.insert(tables.rankings).values(
                key=run.key,
                parent=run.ranking.parent,
                period=run.ranking.period,
                created_at=run.created_at,
                actor=run.actor,
                payload=json.dumps(payload, ensure_ascii=False),
            )
        )
        self.uow.record("ranking", [(run.key, None, {"created_at": run.created_at, **payload})])
        return True


def _ranking_run(row: Any) -> RankingRun:
    ranking = CONVERTER.structure(json.loads(row.payload), Ranking)
    return RankingRun(ranking, row.created_at, row.actor)


class _Imports:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def find(self, sha256: str) -> ImportRecord | None:
        row = self.uow.connection.execute(
            sa.select(tables.import_batches).where(tables.import_batches.c.sha256 == sha256)
        ).first()
        return None if row is None else ImportRecord(*row)

    def record(self, record: ImportRecord) -> None:
        self.uow.connection.execute(
            sa.insert(tables.import_batches).values(
                sha256=record.sha256,
                kind=record.kind,
                file_name=record.file_name,
                actor=record.actor,
                at=record.at,
                rows=record.rows,
                inserted=record.inserted,
                updated=record.updated,
            )
        )
