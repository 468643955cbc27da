"""Every domain type round-trips through plain dicts and JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twores import make_converter
from twores.testing.strategies import DOMAIN_STRATEGIES

CONVERTER = make_converter()


@pytest.mark.parametrize("domain_type", list(DOMAIN_STRATEGIES), ids=lambda t: t.__name__)
@given(data=st.data())
def test_round_trip_through_json(domain_type: type, data: st.DataObject) -> None:
    value = data.draw(DOMAIN_STRATEGIES[domain_type])
    plain = json.loads(json.dumps(CONVERTER.unstructure(value), ensure_ascii=False))
    assert CONVERTER.structure(plain, domain_type) == value
