"""Append-only logs: the audit chain, stored rankings, imported files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from twores.core.audit import AuditEntry, AuditProblem, AuditSummary, verify_chain
from twores.core.convert import trusted_fields
from twores.core.errors import AuditTamperedError
from twores.core.kpis import Ranking, RankingRun
from twores.core.ports import ImportRecord, unit_write
from twores.plugins.sqlalchemy import tables
from twores.plugins.sqlalchemy.repos import BATCH
from twores.plugins.storage.common import CONVERTER

if TYPE_CHECKING:
    from twores.plugins.sqlalchemy.backend import SqlUnitOfWork


_IMPORT_FIELDS = tuple(f.name for f in attrs.fields(ImportRecord))
_HEAD = sa.select(tables.audit_head.c.seq, tables.audit_head.c.hash)
#: Entries :meth:`AuditLog.verify` holds at once: a payload can be close to a megabyte
#: (a bulk operation's before and after), so a verification batch stays small.
VERIFY_BATCH = 100


def audit_head(connection: sa.Connection) -> tuple[int, str]:
    """The chain's head (last seq and hash), which every audited write moves."""
    head = connection.execute(_HEAD).first()
    if head is None:
        raise AuditTamperedError()
    return head.seq, head.hash


def _load(value: str | None) -> Any:
    """A stored before/after payload; text that is not JSON (edited by hand) as it is, for
    the hash check (over the stored text) to report the entry as edited."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


class AuditLog:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def entries(self, *, after_seq: int = 0) -> Iterator[AuditEntry]:
        self.uow.guard.check_audit_reader()
        return self._entries(after_seq)

    def _entries(self, after_seq: int) -> Iterator[AuditEntry]:
        return self._read(after_seq, parse=True, batch=BATCH)

    def _stored_text(self) -> Iterator[AuditEntry]:
        """Every entry as stored, for :func:`verify_chain`: the chain is checked over the
        stored text of before and after, so they are never parsed (``before``/``after``
        stay None; ``before_json``/``after_json`` carry the text), and only a few entries
        are held at once (:data:`VERIFY_BATCH`)."""
        return self._read(0, parse=False, batch=VERIFY_BATCH)

    def _read(self, after_seq: int, *, parse: bool, batch: int) -> Iterator[AuditEntry]:
        t = tables.audit_log
        query = sa.select(t).where(t.c.seq > after_seq).order_by(t.c.seq)
        for r in self.uow.connection.execute(query.execution_options(yield_per=batch)):
            yield AuditEntry(
                r.seq,
                r.at,
                r.actor,
                r.operation,
                r.entity,
                r.key,
                _load(r.before) if parse else None,
                _load(r.after) if parse else None,
                r.prev_hash,
                r.hash,
                "null" if r.before is None else r.before,
                "null" if r.after is None else r.after,
            )

    def summary(self) -> AuditSummary:
        self.uow.guard.check_audit_reader()
        t = tables.audit_log
        entries = self.uow.connection.execute(sa.select(sa.func.count()).select_from(t)).scalar()
        last = self.uow.connection.execute(
            sa.select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)
        ).first()
        return AuditSummary(int(entries or 0), *(last if last else (None, None)))

    def verify(self) -> list[AuditProblem]:
        """Every break in the chain; on SQLite, first, a damaged database file (a log
        whose pages are unreadable is not "intact", nor is the data it vouches for)."""
        self.uow.guard.check_audit_reader()
        damaged = _sqlite_damage(self.uow.connection)
        try:
            return [*damaged, *self._chain_problems()]
        except sa.exc.DatabaseError as error:
            if not damaged:
                raise
            return [*damaged, _unreadable_log(error)]

    def _chain_problems(self) -> list[AuditProblem]:
        problems = verify_chain(self._stored_text())
        head = self.uow.connection.execute(_HEAD).first()
        if head is None:
            missing = AuditTamperedError()
            return [
                *problems,
                AuditProblem(0, "head_missing", missing.message_zh, missing.message_en),
            ]
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


#: The most of SQLite's findings a damaged database is described by.
_DAMAGE_SHOWN = 3


def _sqlite_damage(connection: sa.Connection) -> list[AuditProblem]:
    """A damaged SQLite database file, found by ``PRAGMA quick_check`` (its pages and
    b-trees; a small part of the time reading the log takes): one problem saying so, in
    SQLite's words. PostgreSQL has no such check (its own page checksums, if enabled, are
    checked as pages are read)."""
    if connection.dialect.name != "sqlite":
        return []
    try:
        found = [str(row[0]) for row in connection.exec_driver_sql("PRAGMA quick_check(10)")]
    except sa.exc.DatabaseError as error:  # the damage stops the check itself
        found = [str(error.orig or error).strip()]
    if found == ["ok"]:
        return []
    # One finding a line, under a "*** in database main ***" heading
    lines = [line.strip() for text in found for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("***")] or found
    more = "; …" if len(lines) > _DAMAGE_SHOWN else ""
    detail = "; ".join(lines[:_DAMAGE_SHOWN]) + more
    return [
        AuditProblem(
            0,
            "database_damaged",
            f"数据库文件已损坏（SQLite 完整性检查未通过：{detail}）：审计日志和其中的数据都不可"
            "再信任，据其导出或统计的结果可能有误。请停止写入，从备份恢复数据库",
            f"the database file is damaged (SQLite's integrity check failed: {detail}): "
            "neither the audit log nor the data can be trusted, and what is exported or "
            "counted from it may be wrong; stop writing to it and restore it from a backup",
        )
    ]


def _unreadable_log(error: sa.exc.DatabaseError) -> AuditProblem:
    reason = str(error.orig or error).strip()
    return AuditProblem(
        0,
        "unreadable",
        f"审计日志无法读取完（{reason}），其余记录未能校验",
        f"the audit log cannot be read to its end ({reason}); the rest was not checked",
    )


class Rankings:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def get(self, key: str) -> RankingRun | None:
        row = self.uow.connection.execute(
            sa.select(tables.rankings).where(tables.rankings.c.key == key)
        ).first()
        return None if row is None or not self._visible(row.parent) else _ranking_run(row)

    def _visible(self, parent: str) -> bool:
        """A run ranks the parent's children: only a scope holding the parent sees it."""
        return self.uow.guard.allows(parent)

    def previous(self, ranking: Ranking) -> RankingRun | None:
        """The latest run ``ranking`` follows, in :attr:`Ranking.order`: periods of one kind
        are written so that their text sorts by start (``2026-W09``, ``2026Q1``)."""
        if ranking.as_of is None or not self._visible(ranking.parent):
            return None
        t = tables.rankings
        query = (
            sa.select(t)
            .where(
                t.c.parent == ranking.parent,
                t.c.kind == ranking.kind.value,
                t.c.period_kind == ranking.period_kind,
                t.c.as_of.is_not(None),
                sa.or_(
                    t.c.period < ranking.period,
                    sa.and_(t.c.period == ranking.period, t.c.as_of < ranking.as_of),
                ),
            )
            .order_by(t.c.period.desc(), t.c.as_of.desc(), t.c.created_at.desc(), t.c.key.desc())
        )
        row = self.uow.connection.execute(query.limit(1)).first()
        return None if row is None else _ranking_run(row)

    @unit_write
    def record(self, run: RankingRun) -> bool:
        self.uow.claim_writes()  # before the repeat check (SQLite: a fresh snapshot)
        self.uow.guard.check_write(run.ranking.parent, "排名", "ranking")
        if self.get(run.key) is not None:
            return False
        payload = CONVERTER.unstructure(run.ranking)
        self.uow.connection.execute(
            sa.insert(tables.rankings).values(
                key=run.key,
                parent=run.ranking.parent,
                period=run.ranking.period,
                created_at=run.created_at,
                actor=run.actor,
                payload=json.dumps(payload, ensure_ascii=False),
                kind=run.ranking.kind.value,
                period_kind=run.ranking.period_kind,
                as_of=run.ranking.as_of,
            )
        )
        self.uow.record("ranking", [(run.key, None, {"created_at": run.created_at, **payload})])
        return True


def _ranking_run(row: Any) -> RankingRun:
    ranking = CONVERTER.structure(json.loads(row.payload), Ranking)
    return RankingRun(ranking, row.created_at, row.actor)


class Imports:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def find(self, sha256: str) -> ImportRecord | None:
        row = self.uow.connection.execute(
            sa.select(tables.import_batches).where(tables.import_batches.c.sha256 == sha256)
        ).first()
        return None if row is None else trusted_fields(ImportRecord, _IMPORT_FIELDS, row)

    @unit_write
    def record(self, record: ImportRecord) -> None:
        self.uow.writing()
        self.uow.guard.check_writer("导入批次", "import batches")
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
