"""Upsert, get, stream and count for records keyed by a string and filed by area."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from twores.core.ports import UpsertResult, unit_write
from twores.core.security import records_outside
from twores.plugins.sqlalchemy import rls, rows
from twores.plugins.sqlalchemy.repos import BATCH, batches
from twores.plugins.storage.common import AncestorCodes, Change, county_moves_refused

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork


class Keyed:
    """Upsert, get, stream and count for businesses and cadres."""

    entity = ""
    what_zh = ""
    table: sa.Table
    key_column = ""
    codec: rows.Codec
    #: Keys name one record anywhere (businesses, cadres): a role under row-level security
    #: that cannot see another county's record must not file a second one under its key.
    one_per_key = False
    #: A record stays in the county it is filed in (businesses: a move to another county
    #: is a new registration there); others (cadres) move, their row deleted and inserted.
    stays_in_county = False

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._fresh = False
        # Per area, across batches while the hierarchy stays the same: its ancestor codes,
        # and whether the caller may write there (checked once).
        self._areas_of: object = None
        self._ancestors: dict[str, AncestorCodes] = {}
        self._writable: set[str] = set()

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Into an empty table: drop twores's own secondary indexes and build them once at
        the end, as its schema defines them (inside the transaction, so a rollback restores
        them; an index a DBA added is left alone), and skip looking up rows that cannot
        exist yet. Any other table: an ordinary load.

        On PostgreSQL the dropped indexes lock the table until the import ends: a reader
        of the (empty) table waits for it."""
        self.uow.writing()
        connection = self.uow.connection
        if (
            self._fresh
            or rls.applies(self.uow.store, connection)  # the app role owns no index
            or connection.execute(sa.select(sa.literal(1)).select_from(self.table).limit(1)).first()
        ):
            yield
            return
        present = {i["name"] for i in sa.inspect(connection).get_indexes(self.table.name)}
        indexes = sorted(
            (i for i in self.table.indexes if i.name in present), key=lambda i: str(i.name)
        )
        for index in indexes:
            connection.execute(sa.schema.DropIndex(index))
        self._fresh = True
        try:
            yield
        finally:
            self._fresh = False
        for index in indexes:
            connection.execute(sa.schema.CreateIndex(index))

    @unit_write
    def upsert_many(self, records: Iterable[Any]) -> UpsertResult:
        self.uow.writing()
        result = UpsertResult()
        for batch in batches(records):
            result += self._upsert_batch(batch)
        return result

    def _upsert_batch(self, records: list[Any]) -> UpsertResult:
        uow, codec = self.uow, self.codec
        guard = uow.guard
        hierarchy = guard.hierarchy
        keyed: dict[str, Any] = {}
        for record in records:
            keyed[codec.key(record)] = record
        hashes = {} if self._fresh else self._hashes(list(keyed))
        inserts: list[tuple[Any, ...]] = []
        deletes: list[tuple[str, str]] = []
        updates: list[tuple[rows.StoredRow, tuple[Any, ...]]] = []
        changes: list[Change] = []  # (key, before, after values)
        changed: dict[str, tuple[Any, AncestorCodes, tuple[Any, ...]]] = {}
        unchanged = 0
        moves: list[tuple[str, AncestorCodes]] = []
        if self._areas_of is not hierarchy:
            self._areas_of, self._ancestors, self._writable = hierarchy, {}, set()
        ancestors, writable = self._ancestors, self._writable
        own = slice(len(rows.ANCESTORS), -1)
        for key, record in keyed.items():
            codes = ancestors.get(record.area_code)
            if codes is None:
                codes = ancestors[record.area_code] = AncestorCodes.of(hierarchy, record.area_code)
            if record.area_code not in writable:
                guard.check_write(record.area_code, f"{self.what_zh} {key}", f"{self.entity} {key}")
                writable.add(record.area_code)
            values = codec.values(record, codes)
            stored_hash = hashes.get(key)
            if stored_hash is None:
                inserts.append(values)
                changes.append((key, None, values[own]))
            elif stored_hash == values[-1]:
                unchanged += 1
            else:
                changed[key] = (record, codes, values)
        if self.one_per_key and inserts and rls.applies(uow.store, uow.connection):
            new_keys = [key for key, before, _ in changes if before is None]
            elsewhere = rls.filed_elsewhere(uow, self.entity, new_keys)
            if elsewhere:
                raise records_outside(uow.scope, self.what_zh, self.entity, list(elsewhere))
        existing = self._existing(list(changed)) if changed else {}
        rehashed: list[tuple[str, str, str]] = []
        for key, (_, _, values) in list(changed.items()):
            before = existing[key]
            # the same values under another hash: written set-wise (""), or hashed by an
            # earlier version of ``row_hash``; only the hash is rewritten, set-wise
            if codec.audit(before) == codec.audit_values(values):
                rehashed.append((values[-1], before["county_code"], key))
                del changed[key]
        filed = ((key, existing[key]["area_code"]) for key in changed)
        guard.check_stored_writes(filed, self.what_zh, self.entity)
        if self.stays_in_county:
            crossing = [
                (key, existing[key]["county_code"], record.area_code, codes.county_code)
                for key, (record, codes, _) in changed.items()
                if existing[key]["county_code"] != codes.county_code
            ]
            if crossing:
                raise county_moves_refused(crossing, hierarchy)
        for key, (record, codes, values) in changed.items():
            before = existing[key]
            if before["area_code"] != record.area_code:
                moves.append((key, codes))
            if before["county_code"] == codes.county_code:
                updates.append((before, values))
            else:  # the partition key moves: the row moves
                deletes.append((before["county_code"], key))
                inserts.append(values)
            changes.append((key, codec.audit(before), values[own]))
        updated, unchanged = len(changed), unchanged + len(rehashed)
        mark = uow.mark
        uow.executemany(
            f"UPDATE {self.table.name} SET row_hash={mark} "
            f"WHERE county_code={mark} AND {self.key_column}={mark}",
            rehashed,
        )
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
        moved = tuple(key for key, _ in moves)
        return UpsertResult(len(inserts) + len(updates) - updated, updated, unchanged, moved)

    def _update(self, updates: list[tuple[rows.StoredRow, tuple[Any, ...]]]) -> None:
        """Rewrite only the columns that changed, one statement per set of changed columns
        (a credited task changes three; indexes on untouched columns are left alone)."""
        columns = self.codec.columns
        groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for before, values in updates:
            changed = tuple(i for i, c in enumerate(columns) if before[c] != values[i])
            key = before[self.key_column]
            groups[changed].append((*(values[i] for i in changed), before["county_code"], key))
        mark = self.uow.mark
        for changed, params in groups.items():
            assignments = ", ".join(f"{columns[i]}={mark}" for i in changed)
            self.uow.executemany(
                f"UPDATE {self.table.name} SET {assignments} "
                f"WHERE county_code={mark} AND {self.key_column}={mark}",
                params,
            )

    def _hashes(self, keys: list[str]) -> dict[str, str]:
        """The stored row hash of each of ``keys`` that exists (one narrow read per batch)."""
        t = self.table
        query = sa.select(t.c[self.key_column], t.c.row_hash).where(self._with_keys(keys))
        return self.uow.pairs(query)

    def _existing(self, keys: list[str]) -> dict[str, Any]:
        query = sa.select(self.table).where(self._with_keys(keys))
        found = self.uow.connection.execute(query).mappings().all()
        return {row[self.key_column]: row for row in found}

    def _with_keys(self, keys: Collection[str]) -> sa.ColumnElement[bool]:
        """The rows of ``keys`` (wherever they are filed)."""
        return self.uow.one_of(self.table.c[self.key_column], keys)

    def _moved(self, moves: list[tuple[str, AncestorCodes]]) -> None:
        """Rows that follow a moved record's location (the business's assignments)."""

    def _insert(self, values: list[tuple[Any, ...]]) -> None:
        self.uow.insert_rows(self.table.name, self.codec.columns, values)

    def get(self, key: str) -> Any:
        row = (
            self.uow.connection.execute(sa.select(self.table).where(self._with_keys([key])))
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
            query = sa.select(self.table).where(self._with_keys(chunk))
            for row in self.uow.connection.execute(query).mappings():
                if guard.allows(row["area_code"]):
                    found[row[self.key_column]] = self.codec.record(row)
        return found

    def _select(self, within: str | None) -> sa.Select[Any]:
        query = sa.select(self.table)
        clause = self.uow.within_clause(self.table, within)
        return query if clause is None else query.where(clause)

    def stream(self, *, within: str | None = None, county_code: str | None = None) -> Iterator[Any]:
        clauses = [] if county_code is None else [self.table.c.county_code == county_code]
        return self._where(clauses, within)

    def page(
        self,
        *,
        within: str | None = None,
        offset: int = 0,
        limit: int,
        after: str | None = None,
    ) -> list[Any]:
        key = self.table.c[self.key_column]
        query = self._select(within).order_by(key)
        if after is not None:  # keyset: a seek on the key, not a skip over the rows before
            query = query.where(key > after)
        rows = self.uow.fetch(query.offset(offset).limit(limit))
        return [self.codec.record(row) for row in rows]

    def county_codes(self, *, within: str | None = None) -> list[str]:
        c = self.table.c
        query = sa.select(c.county_code).distinct().order_by(c.county_code)
        clause = self.uow.within_clause(self.table, within)
        if clause is not None:
            query = query.where(clause)
        return list(self.uow.connection.execute(query).scalars())

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
