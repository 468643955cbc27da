"""The director rule's SQL predicate (profiles.py) is true on exactly the profiles answered
True, whatever the answers: decision tree, IN lists and integer ranges alike."""

from __future__ import annotations

import os
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from twores.plugins.sqlalchemy.backend import normalise_url
from twores.plugins.sqlalchemy.profiles import director_rule

POSTGRES_URL = os.environ.get("TWORES_TEST_POSTGRES_URL")
_URLS = [
    "sqlite://",
    pytest.param(
        POSTGRES_URL,
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="TWORES_TEST_POSTGRES_URL is not set"),
    ),
]

_TABLE = sa.Table(
    "profiles",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(8)),
    sa.Column("chain", sa.Boolean),
    sa.Column("diners", sa.Integer),
)
_COLUMNS = (_TABLE.c.kind, _TABLE.c.chain, _TABLE.c.diners)
_PROFILES = st.tuples(
    st.sampled_from(["a", "b", None]), st.booleans(), st.none() | st.integers(-3, 40)
)


@pytest.mark.parametrize("url", _URLS)
@settings(max_examples=60, deadline=None)
@given(answers=st.dictionaries(_PROFILES, st.booleans(), max_size=40))
def test_the_predicate_matches_every_answer(url: str, answers: dict[tuple[Any, ...], bool]) -> None:
    engine = sa.create_engine(normalise_url(url))
    rows = [dict(zip(("kind", "chain", "diners"), p, strict=True)) for p in answers]
    predicate = director_rule(list(answers.items()), _COLUMNS)
    with engine.connect() as connection, connection.begin() as transaction:
        _TABLE.metadata.create_all(connection)  # rolled back below
        if rows:
            connection.execute(_TABLE.insert(), rows)
        query = sa.select(*_COLUMNS, sa.case((predicate, True), else_=False))
        found = {(k, c, d): bool(yes) for k, c, d, yes in connection.execute(query)}
        transaction.rollback()
    engine.dispose()
    assert found == answers
