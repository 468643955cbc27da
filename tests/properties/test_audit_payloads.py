"""Audit payloads: what a write's entries record reads back, record by record."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from twores.core.audit import AuditChain
from twores.plugins.storage.common import audit_payloads, audited_records

FIELDS = ("key", "area_code", "count")
keys = st.text("ABC0123/", min_size=1, max_size=12)
values = st.tuples(st.sampled_from(["150102", "150103"]), st.integers(0, 9) | st.none())


@given(
    st.dictionaries(keys, st.tuples(st.booleans(), values), max_size=30),
    st.booleans(),
)
def test_every_changed_record_reads_back_from_its_entry(
    written: dict[str, tuple[bool, tuple[Any, ...]]], with_fields: bool
) -> None:
    changes = []
    for key, (update, (area, count)) in written.items():
        after = (key, area, count) if with_fields else {"area_code": area, "count": count}
        before = after if update else None
        changes.append((key, before, after))
    chain = AuditChain()
    read: dict[str, Any] = {}
    for operation, key, before, after in audit_payloads(changes, FIELDS if with_fields else None):
        read.update(audited_records(chain.next("t", operation, "thing", key, before, after)))
    expected = {
        key: dict(zip(FIELDS, after, strict=True)) if with_fields else after
        for key, _, after in changes
    }
    assert read == expected
