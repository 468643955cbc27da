"""The audit log: append-only entries linked by a SHA-256 hash chain.

Each entry's hash covers its content and the previous entry's hash, so editing an entry,
deleting one, or reordering them breaks the chain at that point (:func:`verify_chain`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import attrs

GENESIS = "0" * 64


@attrs.frozen
class AuditEntry:
    seq: int
    at: str
    actor: str
    operation: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str
    #: before and after as stored, when a store keeps them as text: the chain is checked
    #: over those very bytes (text that parses to the same values — a duplicated key, say —
    #: is an edit too).
    before_json: str | None = attrs.field(default=None, repr=False, eq=False)
    after_json: str | None = attrs.field(default=None, repr=False, eq=False)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    operation: str,
    entity: str,
    key: str,
    before: object,
    after: object,
) -> str:
    return encoded_entry_hash(
        prev_hash, seq, at, actor, operation, entity, key, canonical(before), canonical(after)
    )


def encoded_entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    operation: str,
    entity: str,
    key: str,
    before_json: str,
    after_json: str,
) -> str:
    """:func:`entry_hash` with before and after already in :func:`canonical` form (a list
    encodes as its items' encodings joined, so this hashes the very same bytes)."""
    head = canonical([seq, at, actor, operation, entity, key])
    payload = f"{head[:-1]},{before_json},{after_json}]"
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


class AuditChain:
    """Builds entries that continue a chain from (last seq, last hash)."""

    def __init__(self, last_seq: int = 0, last_hash: str = GENESIS) -> None:
        self.last_seq, self.last_hash = last_seq, last_hash

    def next(
        self,
        actor: str,
        operation: str,
        entity: str,
        key: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        at: str | None = None,
        encoded: tuple[str, str] | None = None,
    ) -> AuditEntry:
        """The next entry; ``encoded`` is (before, after) in :func:`canonical` form when the
        caller has it already (it stores that text, so it need not be encoded twice)."""
        seq, stamp = self.last_seq + 1, at or now_iso()
        before_json, after_json = encoded or (canonical(before), canonical(after))
        digest = encoded_entry_hash(
            self.last_hash, seq, stamp, actor, operation, entity, key, before_json, after_json
        )
        entry = AuditEntry(
            seq, stamp, actor, operation, entity, key, before, after, self.last_hash, digest
        )
        self.last_seq, self.last_hash = seq, digest
        return entry


@attrs.frozen
class AuditSummary:
    """How many entries the log holds and its last one's number and hash (what a verified
    chain vouches for: kept apart, they show later that nothing was forged into it)."""

    entries: int
    last_seq: int | None
    last_hash: str | None


@attrs.frozen
class AuditProblem:
    """One finding of a verification: ``kind`` is ``missing``, ``broken_link`` or
    ``edited`` (:func:`verify_chain`), ``head_missing`` or ``truncated`` (the chain's head
    disagrees with its last entry), or, from a store that can check its own file (SQLite),
    ``database_damaged`` (the file is corrupt; ``seq`` 0) and ``unreadable`` (the log
    could not be read to its end)."""

    seq: int
    kind: str
    message_zh: str
    message_en: str


def verify_chain(entries: Iterable[AuditEntry]) -> list[AuditProblem]:
    """Every break in the chain: gaps (deleted entries), edited entries, broken links."""
    problems: list[AuditProblem] = []
    expected_seq, prev_hash = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(
                AuditProblem(
                    entry.seq,
                    "missing",
                    f"审计记录 {expected_seq}–{entry.seq - 1} 缺失（被删除）",
                    f"audit entries {expected_seq}-{entry.seq - 1} are missing (deleted)",
                )
            )
        if entry.prev_hash != prev_hash:
            problems.append(
                AuditProblem(
                    entry.seq,
                    "broken_link",
                    f"审计记录 {entry.seq} 与前一条的链接断开",
                    f"audit entry {entry.seq} does not link to the entry before it",
                )
            )
        digest = encoded_entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.operation,
            entry.entity,
            entry.key,
            canonical(entry.before) if entry.before_json is None else entry.before_json,
            canonical(entry.after) if entry.after_json is None else entry.after_json,
        )
        if digest != entry.hash:
            problems.append(
                AuditProblem(
                    entry.seq,
                    "edited",
                    f"审计记录 {entry.seq} 的内容被修改",
                    f"audit entry {entry.seq} was edited",
                )
            )
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return problems
