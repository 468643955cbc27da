"""Audit payloads: what a write's entries record reads back, record by record."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from unittest import mock

import attrs
from hypothesis import example, given
from hypothesis import strategies as st

from twores.core.audit import AuditChain, canonical
from twores.plugins.storage import common
from twores.plugins.storage.common import audit_payloads, audited_records

FIELDS = ("key", "area_code", "count", "due_on")
#: Keys may look like a bulk entry's own key ("a..b (2)").
keys = st.text("AB01./() ", min_size=1, max_size=12)
values = st.tuples(
    st.sampled_from(["150102", "150103"]),
    st.integers(0, 9) | st.none(),
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)


@given(
    st.dictionaries(keys, st.tuples(st.booleans(), values), max_size=30),
    st.booleans(),
    st.integers(1, 8),
)
@example({"A..B (3)": (False, ("150102", 1, date(2026, 1, 5)))}, False, 5)
@example({"A..B (4)": (True, ("150102", None, date(2026, 1, 5)))}, True, 5)
def test_every_changed_record_reads_back_from_its_stored_entry(
    written: dict[str, tuple[bool, tuple[Any, ...]]], with_fields: bool, chunk: int
) -> None:
    changes, expected = [], {}
    for key, (update, (area, count, due_on)) in written.items():
        record = {"area_code": area, "count": count, "due_on": due_on}
        after = (key, area, count, due_on) if with_fields else record
        changes.append((key, after if update else None, after))
        stored = {"key": key, **record} if with_fields else record
        expected[key] = {**stored, "due_on": due_on.isoformat()}
    chain = AuditChain()
    read: dict[str, Any] = {}
    with mock.patch.object(common, "AUDIT_CHUNK", chunk):
        payloads = audit_payloads(changes, FIELDS if with_fields else None)
    for operation, key, before, after in payloads:
        entry = chain.next("t", operation, "thing", key, before, after)
        stored = attrs.evolve(entry, after=json.loads(canonical(entry.after)))  # as kept
        read.update(audited_records(stored))
    assert read == expected


def test_a_write_that_names_a_record_twice_reads_back_its_last_values() -> None:
    changes = [("A", None, ("A", "150102", 1, None)), ("B", None, ("B", "150102", 2, None))]
    changes.append(("A", None, ("A", "150103", 3, None)))
    ((operation, key, before, after),) = audit_payloads(changes, FIELDS)
    assert key == "A..A (3)"
    entry = AuditChain().next("t", operation, "thing", key, before, after)
    read = audited_records(attrs.evolve(entry, after=json.loads(canonical(entry.after))))
    assert read == {
        "A": {"key": "A", "area_code": "150103", "count": 3, "due_on": None},
        "B": {"key": "B", "area_code": "150102", "count": 2, "due_on": None},
    }


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.dates()
    | st.datetimes()
    | st.floats(allow_nan=False, allow_infinity=False)
)
#: Any JSON-like payload (a single record's, a ranking's).
payloads = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
#: A bulk write's payload: records of row values under their keys.
bulk_payloads = st.fixed_dictionaries(
    {
        "fields": st.lists(st.text(max_size=8), max_size=4),
        "records": st.dictionaries(
            st.text(max_size=12), st.lists(scalars, max_size=4) | st.tuples(scalars), max_size=8
        ),
    }
)


@given(bulk_payloads | payloads)
@example({"fields": ["n"], "records": {"k": [1e-05], "j": [1e16]}})
@example({"fields": ["on", "why"], "records": {"k": [date(2026, 3, 31), "停业\u2028\x7f\x00"]}})
def test_audit_payloads_encode_to_the_canonical_text(payload: Any) -> None:
    """The SQL backend's fast encoder gives the canonical text, so the chain verifies as
    written."""
    assert common.canonical_rows(payload) == canonical(payload)
